package dev.scemu.backup;

/**
 * Argon2id cost parameters for deriving the image key from the password; stored in the image
 * header together with the salt.
 *
 * @param memoryKiB memory in KiB (at least 8 × parallelism)
 * @param iterations passes over memory, at least 1
 * @param parallelism lanes, at least 1
 */
public record KdfParameters(int memoryKiB, int iterations, int parallelism) {

    /**
     * 19 MiB, 2 passes, 1 lane (the OWASP minimum for Argon2id): about 0.2-0.4 s with
     * BouncyCastle's pure-Java Argon2 on one core of a 2 vCPU Zen 5 VM; paid once per operation.
     */
    public static final KdfParameters DEFAULT = new KdfParameters(19 * 1024, 2, 1);

    /** Cheap parameters for tests only. */
    public static final KdfParameters TEST_ONLY_WEAK = new KdfParameters(64, 1, 1);

    public KdfParameters {
        if (parallelism < 1 || parallelism > 64 || iterations < 1 || iterations > 1000
                || memoryKiB < 8 * parallelism || memoryKiB > 4 * 1024 * 1024) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "Argon2id parameters memoryKiB=" + memoryKiB
                    + " iterations=" + iterations + " parallelism=" + parallelism + " are out of range");
        }
    }
}
