package dev.scemu.core;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;

/**
 * The JVM flags scemu's media need, and the check that names the missing ones.
 *
 * <p>Chronicle Bytes (off-heap stores, memory-mapped files, direct-buffer addresses) reaches into
 * {@code java.base} internals. Without the flags below its first use fails deep inside Chronicle
 * with an {@code IllegalAccessError} that names none of them. So every entry point that leads to
 * Chronicle or native memory ({@link Media}'s factories, the memory and mapped-file devices,
 * {@code RaidArray.create/assemble}, {@code SnapshotVolume.format/open}) calls {@link #require()}
 * first, which throws one {@link CoreException} ({@link CoreError#JVM_FLAGS_MISSING}, category
 * {@link ErrorCategory#ENVIRONMENT}) listing exactly the missing flags and where to put them.
 *
 * <p>What is checked, for the module Chronicle is loaded in ({@code ALL-UNNAMED} on the class
 * path): each {@code --add-exports} with {@link Module#isExported(String, Module)}, each
 * {@code --add-opens} with {@link Module#isOpen(String, Module)} and, on JDK 22 and later where
 * the JDK can tell, {@code --enable-native-access} with {@code Module.isNativeAccessEnabled()}.
 * The flags may come from the command line, {@code JDK_JAVA_OPTIONS}, or an executable jar's
 * manifest ({@code Add-Exports}, {@code Add-Opens}, {@code Enable-Native-Access}: the {@code scemu}
 * CLI jar carries them, so {@code java -jar scemu.jar} needs none). The result is computed once.
 */
public final class JvmFlags {

    /** {@code --add-exports} packages of {@code java.base} Chronicle needs. */
    public static final List<String> EXPORTS = List.of("jdk.internal.ref", "sun.nio.ch", "jdk.internal.util");
    /** {@code --add-opens} packages of {@code java.base} Chronicle needs. */
    public static final List<String> OPENS = List.of("java.lang.reflect", "java.nio");

    private static volatile List<String> missing;

    private JvmFlags() {
    }

    /**
     * Throws {@link CoreError#JVM_FLAGS_MISSING} naming every missing flag, or returns when the JVM
     * has them all. Cheap after the first call.
     */
    public static void require() {
        List<String> flags = missing();
        if (!flags.isEmpty()) {
            throw new CoreException(CoreError.JVM_FLAGS_MISSING, message(flags));
        }
    }

    /** The flags this JVM lacks, in the order of {@link #allFlags}; empty when it has them all. */
    public static List<String> missing() {
        List<String> result = missing;
        if (result == null) {
            result = missing = List.copyOf(check(chronicleModule()));
        }
        return result;
    }

    /** Every flag scemu needs, for the target module's name ({@code ALL-UNNAMED} on the class path). */
    public static List<String> allFlags(String target) {
        List<String> flags = new ArrayList<>();
        for (String pkg : EXPORTS) {
            flags.add("--add-exports=java.base/" + pkg + "=" + target);
        }
        for (String pkg : OPENS) {
            flags.add("--add-opens=java.base/" + pkg + "=" + target);
        }
        flags.add("--enable-native-access=" + target);
        return flags;
    }

    static List<String> check(Module target) {
        Module base = Object.class.getModule();
        String name = target.isNamed() ? target.getName() : "ALL-UNNAMED";
        List<String> result = new ArrayList<>();
        for (String pkg : EXPORTS) {
            if (!base.isExported(pkg, target)) {
                result.add("--add-exports=java.base/" + pkg + "=" + name);
            }
        }
        for (String pkg : OPENS) {
            if (!base.isOpen(pkg, target)) {
                result.add("--add-opens=java.base/" + pkg + "=" + name);
            }
        }
        if (nativeAccessEnabled(target) == Boolean.FALSE) {
            result.add("--enable-native-access=" + name);
        }
        return result;
    }

    /** {@code Module.isNativeAccessEnabled()} where the JDK has it (22+); null where it cannot tell. */
    private static Boolean nativeAccessEnabled(Module module) {
        try {
            Method method = Module.class.getMethod("isNativeAccessEnabled");
            return (Boolean) method.invoke(module);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static Module chronicleModule() {
        try {
            // Class.forName without initializing: loading Chronicle's class touches no internal API
            return Class.forName("net.openhft.chronicle.core.Jvm", false, JvmFlags.class.getClassLoader()).getModule();
        } catch (ClassNotFoundException e) {
            return JvmFlags.class.getModule();
        }
    }

    static String message(List<String> flags) {
        return "this JVM was started without " + flags.size() + " flag(s) that scemu's off-heap and memory-mapped "
                + "media (Chronicle Bytes) need: " + String.join(" ", flags) + ". Put them on the java command line "
                + "before -jar/-cp/main class, in Maven Surefire's <argLine>, in Gradle's test { jvmArgs(...) }, or in "
                + "the JDK_JAVA_OPTIONS environment variable (also add -Ddisable.perf.info=true "
                + "-Dchronicle.analytics.disable=true, and --sun-misc-unsafe-memory-access=allow on JDK 24+); "
                + "'java -jar scemu.jar' carries them in its manifest. The list: README.md, section 'JVM flags'";
    }
}
