package dev.scemu.backup.internal;

import dev.scemu.core.NativeMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM and SHA-256 over the chunk buffers of one worker thread: OpenSSL libcrypto on the
 * direct buffers in place ({@link OpenSsl}), or the JDK's providers on heap copies when libcrypto
 * is missing or {@code -Dscemu.backup.crypto=jdk}. Both give identical bytes (the same standard
 * algorithms; {@code ChunkCryptoTest} checks it on random inputs), so an image written with one is
 * read with the other. Not thread-safe: one per {@link ChunkCodec}. Idempotent close (frees the
 * native contexts and zeroes the key copy).
 *
 * <p>Every length is in bytes; {@code in}/{@code out} are direct buffers addressed from 0, and
 * each method checks that the range fits the buffer before touching native memory.
 */
abstract class ChunkCrypto implements AutoCloseable {

    /** System property: {@code auto} (default: OpenSSL when it loads and passes its self test), {@code jdk}, {@code openssl}. */
    static final String PROPERTY = "scemu.backup.crypto";

    private static final String SELECTED;
    private static final String OPENSSL_PROBLEM;

    static {
        String mode = System.getProperty(PROPERTY, "auto");
        String problem = null;
        if (!OpenSsl.loaded()) {
            problem = String.valueOf(OpenSsl.loadFailure().getMessage());
        } else {
            problem = selfTest();
        }
        if (mode.equals("jdk")) {
            SELECTED = "jdk";
        } else if (mode.equals("openssl") || mode.equals("auto")) {
            if (problem != null && mode.equals("openssl")) {
                throw new IllegalStateException("-D" + PROPERTY + "=openssl, but OpenSSL cannot be used: " + problem);
            }
            SELECTED = problem == null ? "openssl" : "jdk";
        } else {
            throw new IllegalStateException("-D" + PROPERTY + "=" + mode + " is not one of auto, jdk, openssl");
        }
        OPENSSL_PROBLEM = problem;
    }

    /** What does the crypto in this JVM, for reports: "OpenSSL libcrypto (path)" or "JDK (reason)". */
    static String implementation() {
        if (SELECTED.equals("openssl")) {
            return "OpenSSL libcrypto (" + OpenSsl.library() + ")";
        }
        return "JDK SunJCE/SUN" + (OPENSSL_PROBLEM != null ? " (OpenSSL not used: " + OPENSSL_PROBLEM + ")"
                : " (-D" + PROPERTY + "=jdk)");
    }

    /** Whether OpenSSL loaded and passed the self test (whatever is selected). */
    static boolean openSslUsable() {
        return OPENSSL_PROBLEM == null;
    }

    /** The implementation selected for this JVM; {@code aesKey} may be null (hashing only). */
    static ChunkCrypto create(SecretKeySpec aesKey) {
        return SELECTED.equals("openssl") ? openSsl(aesKey) : jdk(aesKey);
    }

    static ChunkCrypto openSsl(SecretKeySpec aesKey) {
        return new Native(aesKey);
    }

    static ChunkCrypto jdk(SecretKeySpec aesKey) {
        return new Jdk(aesKey);
    }

    /**
     * AES-256-GCM encryption of {@code in[0, length)} to {@code out[0, length + 16)} (ciphertext,
     * then the tag). Returns {@code length + 16}.
     */
    abstract int seal(ByteBuffer in, int length, ByteBuffer out, byte[] nonce, byte[] aad);

    /**
     * Checks and decrypts {@code in[0, length)} (ciphertext then tag) to {@code out[0, length - 16)}.
     * Returns the plaintext length. {@code out} holds unauthenticated bytes if it throws.
     *
     * @throws AEADBadTagException if the tag does not verify
     */
    abstract int open(ByteBuffer in, int length, ByteBuffer out, byte[] nonce, byte[] aad) throws AEADBadTagException;

    /** SHA-256 of {@code record} followed by {@code data[0, length)}. */
    abstract byte[] sha256(byte[] record, ByteBuffer data, int length);

    @Override
    public abstract void close();

    static void checkRange(ByteBuffer buffer, long length, String what) {
        if (!buffer.isDirect() || length < 0 || length > buffer.capacity()) {
            throw new IllegalArgumentException(what + ": " + length + " bytes do not fit a "
                    + (buffer.isDirect() ? "" : "non-") + "direct buffer of " + buffer.capacity() + " bytes");
        }
    }

    /** A known-answer comparison of OpenSSL with the JDK: null if they agree, else what differs. */
    private static String selfTest() {
        try {
            byte[] keyBytes = new byte[32];
            for (int i = 0; i < keyBytes.length; i++) {
                keyBytes[i] = (byte) (i * 7 + 1);
            }
            SecretKeySpec key = new SecretKeySpec(keyBytes, "AES");
            byte[] nonce = "scemu-nonce!".getBytes(StandardCharsets.US_ASCII);
            byte[] aad = "scemu-backup self test".getBytes(StandardCharsets.US_ASCII);
            int length = 1000;
            ByteBuffer plain = ByteBuffer.allocateDirect(length + 64);
            for (int i = 0; i < length; i++) {
                plain.put(i, (byte) (i * 31 + 5));
            }
            ByteBuffer a = ByteBuffer.allocateDirect(length + 64);
            ByteBuffer b = ByteBuffer.allocateDirect(length + 64);
            ByteBuffer back = ByteBuffer.allocateDirect(length + 64);
            try (ChunkCrypto ssl = new Native(key); ChunkCrypto jdk = new Jdk(key)) {
                int na = ssl.seal(plain, length, a, nonce, aad);
                int nb = jdk.seal(plain, length, b, nonce, aad);
                if (na != nb || a.slice(0, na).mismatch(b.slice(0, nb)) != -1) {
                    return "AES-256-GCM output differs from the JDK's";
                }
                if (ssl.open(a, na, back, nonce, aad) != length || back.slice(0, length).mismatch(plain.slice(0, length)) != -1) {
                    return "AES-256-GCM decryption does not give the plaintext back";
                }
                a.put(3, (byte) (a.get(3) ^ 1));
                try {
                    ssl.open(a, na, back, nonce, aad);
                    return "AES-256-GCM accepted a changed ciphertext";
                } catch (AEADBadTagException expected) {
                    // the tag check works
                }
                byte[] record = "record".getBytes(StandardCharsets.US_ASCII);
                if (!Arrays.equals(ssl.sha256(record, plain, length), jdk.sha256(record, plain, length))) {
                    return "SHA-256 differs from the JDK's";
                }
            }
            return null;
        } catch (Throwable t) { // a binding problem of any kind: use the JDK
            return "self test failed: " + t;
        }
    }

    /** OpenSSL EVP on the direct buffers in place. */
    private static final class Native extends ChunkCrypto {
        /** Scratch native memory: key (32), nonce (12, padded to 16), tag (16), out length (4, padded to 16), digest (32). */
        private static final int KEY = 0;
        private static final int NONCE = 32;
        private static final int TAG = 48;
        private static final int OUT_LENGTH = 64;
        private static final int DIGEST = 80;
        private static final int SCRATCH_BYTES = 112;

        private final ByteBuffer scratch = ByteBuffer.allocateDirect(SCRATCH_BYTES).order(ByteOrder.nativeOrder());
        private final long scratchAddress = NativeMemory.address(scratch);
        private final boolean hasKey;
        private ByteBuffer aadBuffer = ByteBuffer.allocateDirect(4096);
        private ByteBuffer recordBuffer = ByteBuffer.allocateDirect(4096);
        private long cipherCtx;
        private long mdCtx;
        private final long cipher;
        private final long sha256;
        private boolean closed;

        Native(SecretKeySpec aesKey) {
            this.hasKey = aesKey != null;
            if (hasKey) {
                byte[] key = aesKey.getEncoded();
                if (key.length != 32) {
                    throw new IllegalArgumentException("AES-256 needs a 32-byte key, got " + key.length);
                }
                scratch.put(KEY, key);
                Arrays.fill(key, (byte) 0);
            }
            this.cipher = OpenSsl.EVP_aes_256_gcm();
            this.sha256 = OpenSsl.EVP_sha256();
            this.cipherCtx = OpenSsl.EVP_CIPHER_CTX_new();
            this.mdCtx = OpenSsl.EVP_MD_CTX_new();
            if (cipherCtx == 0 || mdCtx == 0 || cipher == 0 || sha256 == 0) {
                close();
                throw new IllegalStateException("OpenSSL could not allocate a cipher or digest context");
            }
        }

        @Override
        int seal(ByteBuffer in, int length, ByteBuffer out, byte[] nonce, byte[] aad) {
            checkOpen();
            checkKey();
            checkRange(in, length, "AES-GCM input");
            checkRange(out, (long) length + ArchiveLayout.GCM_TAG_BYTES, "AES-GCM output");
            long aadAddress = aad(aad);
            scratch.put(NONCE, nonce, 0, ArchiveLayout.GCM_NONCE_BYTES);
            long outLength = scratchAddress + OUT_LENGTH;
            long outAddress = NativeMemory.address(out);
            check(OpenSsl.EVP_EncryptInit_ex(cipherCtx, cipher, 0, scratchAddress + KEY, scratchAddress + NONCE), "EncryptInit");
            check(OpenSsl.EVP_EncryptUpdate(cipherCtx, 0, outLength, aadAddress, aad.length), "EncryptUpdate(aad)");
            int done = 0;
            if (length > 0) {
                check(OpenSsl.EVP_EncryptUpdate(cipherCtx, outAddress, outLength, NativeMemory.address(in), length),
                        "EncryptUpdate");
                done = scratch.getInt(OUT_LENGTH);
            }
            check(OpenSsl.EVP_EncryptFinal_ex(cipherCtx, outAddress + done, outLength), "EncryptFinal");
            done += scratch.getInt(OUT_LENGTH);
            if (done != length) {
                throw new IllegalStateException("OpenSSL AES-GCM wrote " + done + " of " + length + " bytes");
            }
            check(OpenSsl.EVP_CIPHER_CTX_ctrl(cipherCtx, OpenSsl.EVP_CTRL_GCM_GET_TAG, ArchiveLayout.GCM_TAG_BYTES,
                    outAddress + length), "GET_TAG");
            return length + ArchiveLayout.GCM_TAG_BYTES;
        }

        @Override
        int open(ByteBuffer in, int length, ByteBuffer out, byte[] nonce, byte[] aad) throws AEADBadTagException {
            checkOpen();
            checkKey();
            if (length < ArchiveLayout.GCM_TAG_BYTES) {
                throw new AEADBadTagException(length + " bytes are shorter than the tag");
            }
            int cipherLength = length - ArchiveLayout.GCM_TAG_BYTES;
            checkRange(in, length, "AES-GCM input");
            checkRange(out, cipherLength, "AES-GCM output");
            long aadAddress = aad(aad);
            scratch.put(NONCE, nonce, 0, ArchiveLayout.GCM_NONCE_BYTES);
            long outLength = scratchAddress + OUT_LENGTH;
            long inAddress = NativeMemory.address(in);
            long outAddress = NativeMemory.address(out);
            check(OpenSsl.EVP_DecryptInit_ex(cipherCtx, cipher, 0, scratchAddress + KEY, scratchAddress + NONCE), "DecryptInit");
            check(OpenSsl.EVP_DecryptUpdate(cipherCtx, 0, outLength, aadAddress, aad.length), "DecryptUpdate(aad)");
            int done = 0;
            if (cipherLength > 0) {
                check(OpenSsl.EVP_DecryptUpdate(cipherCtx, outAddress, outLength, inAddress, cipherLength), "DecryptUpdate");
                done = scratch.getInt(OUT_LENGTH);
            }
            NativeMemory.copy(inAddress + cipherLength, scratchAddress + TAG, ArchiveLayout.GCM_TAG_BYTES);
            check(OpenSsl.EVP_CIPHER_CTX_ctrl(cipherCtx, OpenSsl.EVP_CTRL_GCM_SET_TAG, ArchiveLayout.GCM_TAG_BYTES,
                    scratchAddress + TAG), "SET_TAG");
            if (OpenSsl.EVP_DecryptFinal_ex(cipherCtx, outAddress + done, outLength) <= 0) {
                throw new AEADBadTagException("Tag mismatch");
            }
            done += scratch.getInt(OUT_LENGTH);
            if (done != cipherLength) {
                throw new IllegalStateException("OpenSSL AES-GCM wrote " + done + " of " + cipherLength + " bytes");
            }
            return cipherLength;
        }

        @Override
        byte[] sha256(byte[] record, ByteBuffer data, int length) {
            checkOpen();
            checkRange(data, length, "SHA-256 input");
            if (recordBuffer.capacity() < record.length) {
                recordBuffer = ByteBuffer.allocateDirect(Math.max(record.length, recordBuffer.capacity() * 2));
            }
            recordBuffer.put(0, record);
            check(OpenSsl.EVP_DigestInit_ex(mdCtx, sha256, 0), "DigestInit");
            check(OpenSsl.EVP_DigestUpdate(mdCtx, NativeMemory.address(recordBuffer), record.length), "DigestUpdate");
            check(OpenSsl.EVP_DigestUpdate(mdCtx, NativeMemory.address(data), length), "DigestUpdate");
            check(OpenSsl.EVP_DigestFinal_ex(mdCtx, scratchAddress + DIGEST, 0), "DigestFinal");
            byte[] digest = new byte[ArchiveLayout.SHA256_BYTES];
            scratch.get(DIGEST, digest);
            return digest;
        }

        private long aad(byte[] aad) {
            if (aadBuffer.capacity() < aad.length) {
                aadBuffer = ByteBuffer.allocateDirect(Math.max(aad.length, aadBuffer.capacity() * 2));
            }
            aadBuffer.put(0, aad);
            return NativeMemory.address(aadBuffer);
        }

        private void checkOpen() {
            if (closed) {
                throw new IllegalStateException("crypto context is closed");
            }
        }

        private void checkKey() {
            if (!hasKey) {
                throw new IllegalStateException("this crypto context has no key (unencrypted image)");
            }
        }

        private static void check(int rc, String call) {
            if (rc != 1) {
                throw new IllegalStateException("OpenSSL EVP_" + call + " failed (" + rc + ")");
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            for (int i = 0; i < SCRATCH_BYTES; i++) {
                scratch.put(i, (byte) 0);
            }
            if (cipherCtx != 0) {
                OpenSsl.EVP_CIPHER_CTX_free(cipherCtx);
                cipherCtx = 0;
            }
            if (mdCtx != 0) {
                OpenSsl.EVP_MD_CTX_free(mdCtx);
                mdCtx = 0;
            }
        }
    }

    /**
     * The JDK's AES/GCM/NoPadding and SHA-256 on heap copies (they run 1.5-2.5x faster on arrays
     * than on direct buffers on JDK 17).
     */
    private static final class Jdk extends ChunkCrypto {
        private final SecretKeySpec key;
        private final Cipher cipher;
        private final MessageDigest sha;
        private byte[] heapIn;
        private byte[] heapOut;

        Jdk(SecretKeySpec key) {
            this.key = key;
            try {
                this.cipher = key == null ? null : Cipher.getInstance("AES/GCM/NoPadding");
                this.sha = MessageDigest.getInstance("SHA-256");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES/GCM or SHA-256 is not available", e);
            }
            this.heapIn = new byte[0];
            this.heapOut = new byte[0];
        }

        private void ensure(int bytes) {
            if (heapIn.length < bytes) {
                heapIn = new byte[bytes];
                heapOut = new byte[bytes];
            }
        }

        @Override
        int seal(ByteBuffer in, int length, ByteBuffer out, byte[] nonce, byte[] aad) {
            checkRange(in, length, "AES-GCM input");
            checkRange(out, (long) length + ArchiveLayout.GCM_TAG_BYTES, "AES-GCM output");
            ensure(length + ArchiveLayout.GCM_TAG_BYTES);
            in.get(0, heapIn, 0, length);
            try {
                cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(ArchiveLayout.GCM_TAG_BYTES * 8, nonce));
                cipher.updateAAD(aad);
                int n = cipher.doFinal(heapIn, 0, length, heapOut, 0);
                out.put(0, heapOut, 0, n);
                return n;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM encryption failed", e);
            }
        }

        @Override
        int open(ByteBuffer in, int length, ByteBuffer out, byte[] nonce, byte[] aad) throws AEADBadTagException {
            checkRange(in, length, "AES-GCM input");
            ensure(length);
            in.get(0, heapIn, 0, length);
            try {
                cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(ArchiveLayout.GCM_TAG_BYTES * 8, nonce));
                cipher.updateAAD(aad);
                int n = cipher.doFinal(heapIn, 0, length, heapOut, 0);
                checkRange(out, n, "AES-GCM output");
                out.put(0, heapOut, 0, n);
                return n;
            } catch (AEADBadTagException e) {
                throw e;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM decryption failed: " + e.getMessage(), e);
            }
        }

        @Override
        byte[] sha256(byte[] record, ByteBuffer data, int length) {
            checkRange(data, length, "SHA-256 input");
            ensure(length);
            data.get(0, heapIn, 0, length);
            sha.reset();
            sha.update(record);
            sha.update(heapIn, 0, length);
            return sha.digest();
        }

        @Override
        public void close() {
            // nothing native
        }
    }
}
