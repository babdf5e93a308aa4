package dev.scemu.backup.internal;

import dev.scemu.backup.KdfParameters;
import dev.scemu.core.NativeBinding;
import java.util.Arrays;
import org.bouncycastle.crypto.PasswordConverter;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * Argon2id (version 0x13) of a password: the reference C library {@code libargon2} (Debian
 * {@code libargon2-1}, the library behind the {@code argon2} tool and PHP's and cryptsetup's
 * Argon2) through JNA direct mapping when it loads and agrees with BouncyCastle on a known-answer
 * comparison, else BouncyCastle's {@link Argon2BytesGenerator}. Both compute the same function
 * (RFC 9106) from the same bytes (the password as UTF-8, BouncyCastle's {@link PasswordConverter#UTF8}),
 * so an image keyed with one opens with the other.
 *
 * <h2>Why</h2>
 * Every encrypted backup, restore, verify and info runs one derivation with the image's
 * parameters (default 19 MiB, 2 passes, 1 lane). BouncyCastle's Java code took 0.15-0.33 s of it in
 * a warm JVM and more in a fresh {@code scemu} process (interpreted and C1 code); libargon2 takes
 * 20-75 ms for the same parameters (docs/benchmarks.md, "#21, fourth session"). The parameters
 * are not changed: they are the image's, and a security decision.
 *
 * <p>{@code -Dscemu.backup.argon2=auto} (default), {@code bouncycastle} or {@code libargon2}
 * (fails if the library cannot be used). Thread-safe: no shared state after class initialization.
 */
final class Argon2id {

    /** System property selecting the implementation. */
    static final String PROPERTY = "scemu.backup.argon2";

    private static final String SELECTED;
    private static final String NATIVE_PROBLEM;

    static {
        String mode = System.getProperty(PROPERTY, "auto");
        String problem = Lib.LOAD_FAILURE != null ? String.valueOf(Lib.LOAD_FAILURE.getMessage()) : selfTest();
        switch (mode) {
            case "bouncycastle" -> SELECTED = "bouncycastle";
            case "auto", "libargon2" -> {
                if (problem != null && mode.equals("libargon2")) {
                    throw new IllegalStateException("-D" + PROPERTY + "=libargon2, but libargon2 cannot be used: " + problem);
                }
                SELECTED = problem == null ? "libargon2" : "bouncycastle";
            }
            default -> throw new IllegalStateException("-D" + PROPERTY + "=" + mode
                    + " is not one of auto, bouncycastle, libargon2");
        }
        NATIVE_PROBLEM = problem;
    }

    private Argon2id() {
    }

    /** What computes Argon2id in this JVM, for reports. */
    static String implementation() {
        if (SELECTED.equals("libargon2")) {
            return "libargon2 (" + Lib.LIBRARY + ")";
        }
        return "BouncyCastle" + (NATIVE_PROBLEM != null ? " (libargon2 not used: " + NATIVE_PROBLEM + ")"
                : " (-D" + PROPERTY + "=bouncycastle)");
    }

    /** Whether libargon2 loaded and passed its self test (whatever is selected). */
    static boolean nativeUsable() {
        return NATIVE_PROBLEM == null;
    }

    /** The 32-byte master key: Argon2id(password UTF-8, salt, kdf), version 0x13. */
    static byte[] derive(char[] password, byte[] salt, KdfParameters kdf) {
        return SELECTED.equals("libargon2") ? nativeDerive(password, salt, kdf) : javaDerive(password, salt, kdf);
    }

    static byte[] javaDerive(char[] password, byte[] salt, KdfParameters kdf) {
        Argon2Parameters parameters = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withSalt(salt)
                .withMemoryAsKB(kdf.memoryKiB())
                .withIterations(kdf.iterations())
                .withParallelism(kdf.parallelism())
                .withCharToByteConverter(PasswordConverter.UTF8)
                .build();
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(parameters);
        byte[] master = new byte[32];
        generator.generateBytes(password, master);
        return master;
    }

    static byte[] nativeDerive(char[] password, byte[] salt, KdfParameters kdf) {
        byte[] pwd = PasswordConverter.UTF8.convert(password);
        byte[] master = new byte[32];
        try {
            int rc = Lib.argon2id_hash_raw(kdf.iterations(), kdf.memoryKiB(), kdf.parallelism(), pwd, pwd.length,
                    salt, salt.length, master, master.length);
            if (rc != 0) { // ARGON2_OK; otherwise e.g. ARGON2_MEMORY_ALLOCATION_ERROR (-22)
                throw new IllegalStateException("libargon2 argon2id_hash_raw failed with error " + rc + " (memory "
                        + kdf.memoryKiB() + " KiB, " + kdf.iterations() + " passes, " + kdf.parallelism() + " lanes)");
            }
            return master;
        } finally {
            Arrays.fill(pwd, (byte) 0);
        }
    }

    /** Known-answer comparison of libargon2 with BouncyCastle on small parameters: null if they agree. */
    private static String selfTest() {
        try {
            byte[] salt = "scemu-argon2-kat".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            char[][] passwords = {"password".toCharArray(), "pässwörd \u20ac".toCharArray(), new char[0]};
            KdfParameters[] parameters = {new KdfParameters(16, 1, 2), new KdfParameters(64, 3, 1)};
            for (char[] p : passwords) {
                for (KdfParameters k : parameters) {
                    if (!Arrays.equals(nativeDerive(p, salt, k), javaDerive(p, salt, k))) {
                        return "its output differs from BouncyCastle's for " + k;
                    }
                }
            }
            return null;
        } catch (RuntimeException | LinkageError e) {
            return "self test failed: " + e;
        }
    }

    /** The one libargon2 call, bound by JNA direct mapping (byte arrays are copied in and out by JNA). */
    private static final class Lib {
        /** Debian's runtime soname, then the unversioned name of a -dev install. */
        private static final String[] LIBRARY_NAMES = {"libargon2.so.1", "argon2"};
        static final String LIBRARY;
        static final Throwable LOAD_FAILURE;

        static {
            NativeBinding binding = NativeBinding.register(Lib.class, "libargon2", LIBRARY_NAMES, "argon2id_hash_raw");
            LIBRARY = binding.library();
            LOAD_FAILURE = binding.failure();
        }

        private Lib() {
        }

        /** {@code int argon2id_hash_raw(uint32 t_cost, uint32 m_cost, uint32 parallelism, pwd, size_t, salt, size_t, hash, size_t)}. */
        static native int argon2id_hash_raw(int tCost, int mCostKiB, int parallelism, byte[] pwd, long pwdLength,
                                            byte[] salt, long saltLength, byte[] hash, long hashLength);
    }
}
