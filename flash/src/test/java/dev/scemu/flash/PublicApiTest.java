package dev.scemu.flash;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The public API of {@code dev.scemu.flash} is interfaces, records, enums and the exception, plus a
 * few immutable values and static factories whose constructors are private (package-info): a new
 * concrete implementation class in this package fails here and belongs in {@code .internal}.
 */
class PublicApiTest {

    /** Public classes that are neither interfaces, records, enums nor exceptions: values and factories. */
    private static final Set<String> VALUES_AND_FACTORIES = Set.of("FirmwareImage", "TrustedKeys", "KeyPem",
            "Migrations");

    private static List<Class<?>> publicTopLevelTypes() throws IOException, URISyntaxException, ClassNotFoundException {
        Path classes = Path.of(FlashException.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path dir = classes.resolve("dev/scemu/flash");
        List<String> names;
        try (Stream<Path> files = Files.list(dir)) {
            names = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".class") && !n.contains("$"))
                    .map(n -> n.substring(0, n.length() - ".class".length())).filter(n -> !n.equals("package-info"))
                    .sorted().toList();
        }
        List<Class<?>> types = new java.util.ArrayList<>();
        for (String name : names) {
            Class<?> type = Class.forName("dev.scemu.flash." + name);
            if (Modifier.isPublic(type.getModifiers())) {
                types.add(type);
            }
        }
        return types;
    }

    @Test
    void theRootPackageHoldsInterfacesRecordsEnumsTheExceptionAndPrivatelyConstructedValues() throws Exception {
        List<Class<?>> types = publicTopLevelTypes();
        assertThat(types).extracting(Class::getSimpleName).contains("FlashDevice", "FirmwareManager", "HostIoGate",
                "FirmwareStore", "UpdateReport", "FlashError", "FlashException");
        for (Class<?> type : types) {
            if (type.isInterface() || type.isRecord() || type.isEnum() || Throwable.class.isAssignableFrom(type)) {
                continue;
            }
            assertThat(VALUES_AND_FACTORIES).as("%s is a concrete public class in the API package: an interface,"
                    + " record or enum, or an implementation for dev.scemu.flash.internal", type.getName())
                    .contains(type.getSimpleName());
            assertThat(Modifier.isFinal(type.getModifiers())).as("%s is final", type.getName()).isTrue();
            for (Constructor<?> constructor : type.getDeclaredConstructors()) {
                assertThat(Modifier.isPrivate(constructor.getModifiers()))
                        .as("%s has only private constructors (instances come from its factories)", type.getName())
                        .isTrue();
            }
        }
    }

    @Test
    void theInterfacesOfTheLifecycleAreInterfaces() {
        assertThat(List.of(FlashDevice.class, FirmwareManager.class, HostIoGate.class, FirmwareStore.class,
                PeriodicInspector.class, BackupRegion.class, UpdateJournal.class)).allMatch(Class::isInterface);
    }
}
