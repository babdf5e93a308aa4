package dev.scemu.cli;

/**
 * What a {@code scemu} process sets before the libraries it uses start: work they would do at
 * their start that no command uses, in a process that lives a second or two. Measured in
 * docs/benchmarks.md, "#21, fifth session" (JFR of cold {@code status}, {@code backup create} and
 * {@code restore}). Only {@link Main#main} calls it: tests and embedders keep the libraries'
 * defaults.
 */
final class ColdStart {

    /** JNA's search path property: when set, JNA does not compute it (see {@link #jnaSearchPath}). */
    static final String JNA_PLATFORM_PATH = "jna.platform.library.path";

    private ColdStart() {
    }

    /** Applies every setting below. */
    static void apply() {
        noPosixApi();
        jnaSearchPath();
    }

    /**
     * Chronicle Core's {@code Jvm} class loads OpenHFT's {@code PosixAPI} in its static initializer
     * (outside JUnit) and throws it away; loading it binds libc through jnr-ffi, which generates its
     * stubs with ASM and an x86 assembler at run time: 40-70 profile samples of the main thread in a
     * cold {@code status} (~15 % of them), on the way into the unit open. scemu calls no PosixAPI
     * function (its own libc calls go through JNA, {@code LibC}), and Chronicle uses it only for
     * msync of its mapped files and a clock scemu does not use. So the process selects OpenHFT's
     * no-op implementation before Chronicle starts.
     */
    static void noPosixApi() {
        net.openhft.posix.PosixAPI.useNoOpPosixApi();
    }

    /**
     * JNA's {@code NativeLibrary} builds its default search path in its static initializer and, on
     * Linux, forks {@code /sbin/ldconfig -p} to add the directories of the loader cache (a
     * fork and exec of a process holding the JVM: 10-20 ms of each command that binds ISA-L,
     * libcrypto or libargon2). Set to the directories JNA itself puts first, plus /usr/local/lib,
     * the search finds the same libraries: the soname each binding tries last
     * ({@code libisal.so.2}, {@code libcrypto.so.3}, {@code libargon2.so.1}) is resolved by dlopen
     * through the loader cache anyway. Left alone where it is already set
     * ({@code -Djna.platform.library.path=...}) and outside x86-64 and AArch64 Linux.
     */
    static void jnaSearchPath() {
        if (System.getProperty(JNA_PLATFORM_PATH) != null || !"Linux".equals(System.getProperty("os.name"))) {
            return;
        }
        String triple = switch (System.getProperty("os.arch", "")) {
            case "amd64", "x86_64" -> "x86_64-linux-gnu";
            case "aarch64" -> "aarch64-linux-gnu";
            default -> null;
        };
        if (triple != null) {
            System.setProperty(JNA_PLATFORM_PATH, "/usr/lib/" + triple + ":/lib/" + triple
                    + ":/usr/lib64:/lib64:/usr/lib:/lib:/usr/local/lib");
        }
    }
}
