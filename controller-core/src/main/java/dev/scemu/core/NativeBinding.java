package dev.scemu.core;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import java.util.ArrayList;
import java.util.List;

/**
 * The outcome of binding a class's {@code native} methods to an optional shared library through
 * JNA direct mapping (ISA-L for parity, libcrypto for backup encryption): the first of the given
 * library names that loads and exports every required function is registered; if none does, the
 * failure says what was tried, and the caller falls back to Java.
 *
 * @param library the file (or name) registered, {@code null} if none
 * @param failure why nothing was registered, {@code null} if {@code library} is set
 */
public record NativeBinding(String library, Throwable failure) {

    /**
     * Registers {@code target}'s native methods with the first of {@code libraryNames} that exports
     * all of {@code requiredFunctions}. Call it from {@code target}'s static initializer.
     *
     * @param what the library's name in the failure message, e.g. "ISA-L"
     */
    public static NativeBinding register(Class<?> target, String what, String[] libraryNames,
                                         String... requiredFunctions) {
        Throwable last = null;
        List<String> tried = new ArrayList<>();
        for (String name : libraryNames) {
            try {
                NativeLibrary library = NativeLibrary.getInstance(name);
                for (String function : requiredFunctions) {
                    library.getFunction(function); // UnsatisfiedLinkError if absent
                }
                Native.register(target, library);
                return new NativeBinding(library.getFile() != null ? library.getFile().getPath() : name, null);
            } catch (Throwable t) { // UnsatisfiedLinkError, or JNA's own native part missing
                tried.add(name + ": " + t.getMessage());
                last = t;
            }
        }
        UnsatisfiedLinkError failure = new UnsatisfiedLinkError(what + " not loadable: " + tried);
        if (last != null) {
            failure.initCause(last);
        }
        return new NativeBinding(null, failure);
    }

    /** Whether the native methods are bound. */
    public boolean loaded() {
        return failure == null;
    }
}
