package dev.scemu.backup.internal;

import dev.scemu.core.NativeBinding;

/**
 * The few OpenSSL libcrypto calls the backup needs (AES-256-GCM and SHA-256 through the EVP
 * interface), bound by JNA <em>direct mapping</em> ({@link Native#register}): every argument is an
 * int or a native address, so JNA converts and copies nothing and the chunk buffers are read and
 * written in place. Debian's {@code libssl3} ({@code libcrypto.so.3}) is on every machine that has
 * {@code openssl}; without it the backup uses the JDK's providers ({@link ChunkCrypto#jdk}).
 *
 * <h2>Why</h2>
 * The JDK's AES-GCM only reaches its AVX-512 intrinsics once the calling frames are C2-compiled;
 * a backup makes one call per 1 MiB chunk, so on JDK 17 (and 25) it stayed in the Java
 * {@code GHASH.processBlocks} loop for a whole 1 GiB backup: ~0.1 GB/s per core, against
 * 4.4 GB/s for OpenSSL on the same core ({@code openssl speed -evp aes-256-gcm}), JFR: 75 % of the
 * samples of {@code scemu backup create} (docs/benchmarks.md, "backup").
 *
 * <h2>Contract</h2>
 * Calls take native addresses that the caller ({@link ChunkCrypto}) has bounds-checked: a wrong
 * address here is a crash, not an exception. A context ({@code EVP_CIPHER_CTX}, {@code EVP_MD_CTX})
 * belongs to one thread. The binding runs a known-answer self test at load
 * ({@link ChunkCrypto#openSsl}) and is not used if it fails.
 */
final class OpenSsl {

    /** {@code EVP_CIPHER_CTX_ctrl} type: read the GCM tag after {@code EncryptFinal}. */
    static final int EVP_CTRL_GCM_GET_TAG = 0x10;
    /** {@code EVP_CIPHER_CTX_ctrl} type: set the expected GCM tag before {@code DecryptFinal}. */
    static final int EVP_CTRL_GCM_SET_TAG = 0x11;

    /** Names tried in order: the unversioned name (a -dev symlink), then Debian's runtime soname. */
    private static final String[] LIBRARY_NAMES = {"crypto", "libcrypto.so.3"};

    private static final String LIBRARY;
    private static final Throwable LOAD_FAILURE;

    static {
        NativeBinding binding = NativeBinding.register(OpenSsl.class, "libcrypto", LIBRARY_NAMES, "EVP_aes_256_gcm", "EVP_DigestFinal_ex");
        LIBRARY = binding.library();
        LOAD_FAILURE = binding.failure();
    }

    private OpenSsl() {
    }

    static boolean loaded() {
        return LOAD_FAILURE == null;
    }

    static String library() {
        return LIBRARY;
    }

    static Throwable loadFailure() {
        return LOAD_FAILURE;
    }

    static native long EVP_aes_256_gcm();

    static native long EVP_CIPHER_CTX_new();

    static native void EVP_CIPHER_CTX_free(long ctx);

    static native int EVP_CIPHER_CTX_ctrl(long ctx, int type, int arg, long ptr);

    static native int EVP_EncryptInit_ex(long ctx, long cipher, long engine, long key, long iv);

    static native int EVP_EncryptUpdate(long ctx, long out, long outLength, long in, int inLength);

    static native int EVP_EncryptFinal_ex(long ctx, long out, long outLength);

    static native int EVP_DecryptInit_ex(long ctx, long cipher, long engine, long key, long iv);

    static native int EVP_DecryptUpdate(long ctx, long out, long outLength, long in, int inLength);

    static native int EVP_DecryptFinal_ex(long ctx, long out, long outLength);

    static native long EVP_sha256();

    static native long EVP_MD_CTX_new();

    static native void EVP_MD_CTX_free(long ctx);

    static native int EVP_DigestInit_ex(long ctx, long type, long engine);

    static native int EVP_DigestUpdate(long ctx, long data, long count);

    static native int EVP_DigestFinal_ex(long ctx, long md, long size);
}
