package dev.scemu.backup.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Random;
import javax.crypto.AEADBadTagException;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * OpenSSL and the JDK give the same AES-256-GCM and SHA-256 bytes (so an image written with one is
 * read with the other), on random keys, nonces, additional data and lengths 0..1 MiB + tails; each
 * opens what the other sealed; a changed ciphertext, tag, nonce or AAD fails the tag with both.
 * The OpenSSL half is skipped where libcrypto is not installed (the JDK path is then the one used).
 */
class ChunkCryptoTest {

    @Test
    void reportsWhatIsInUse() {
        String implementation = ChunkCrypto.implementation();
        assertThat(implementation).isNotBlank();
        if (OpenSsl.loaded()) {
            assertThat(ChunkCrypto.openSslUsable()).as("libcrypto loaded, so its self test must pass: %s", implementation)
                    .isTrue();
        }
        if (ChunkCrypto.openSslUsable() && !"jdk".equals(System.getProperty(ChunkCrypto.PROPERTY))) {
            assertThat(implementation).startsWith("OpenSSL");
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void openSslAndJdkAgree(long seed) throws Exception {
        assumeTrue(ChunkCrypto.openSslUsable(), "libcrypto not loadable: " + OpenSsl.loadFailure());
        Random random = new Random(seed);
        int[] lengths = {0, 1, 15, 16, 17, 4095, 4096, 65_537, (1 << 20) + random.nextInt(64), random.nextInt(300_000)};
        byte[] keyBytes = new byte[32];
        random.nextBytes(keyBytes);
        SecretKeySpec key = new SecretKeySpec(keyBytes, "AES");
        try (ChunkCrypto ssl = ChunkCrypto.openSsl(key); ChunkCrypto jdk = ChunkCrypto.jdk(key)) {
            for (int length : lengths) {
                ByteBuffer plain = random(random, length + 64);
                byte[] nonce = new byte[12];
                random.nextBytes(nonce);
                byte[] aad = new byte[random.nextInt(5000)];
                random.nextBytes(aad);
                ByteBuffer a = ByteBuffer.allocateDirect(length + 64);
                ByteBuffer b = ByteBuffer.allocateDirect(length + 64);
                int na = ssl.seal(plain, length, a, nonce, aad);
                int nb = jdk.seal(plain, length, b, nonce, aad);
                assertThat(na).isEqualTo(nb).isEqualTo(length + 16);
                assertThat(a.slice(0, na).mismatch(b.slice(0, nb))).as("seed %d length %d", seed, length).isEqualTo(-1);

                ByteBuffer back1 = ByteBuffer.allocateDirect(length + 64);
                ByteBuffer back2 = ByteBuffer.allocateDirect(length + 64);
                assertThat(ssl.open(b, nb, back1, nonce, aad)).isEqualTo(length);
                assertThat(jdk.open(a, na, back2, nonce, aad)).isEqualTo(length);
                assertThat(back1.slice(0, length).mismatch(plain.slice(0, length))).isEqualTo(-1);
                assertThat(back2.slice(0, length).mismatch(plain.slice(0, length))).isEqualTo(-1);

                byte[] record = new byte[random.nextInt(200)];
                random.nextBytes(record);
                byte[] expected = jdkSha(record, plain, length);
                assertThat(ssl.sha256(record, plain, length)).isEqualTo(expected);
                assertThat(jdk.sha256(record, plain, length)).isEqualTo(expected);

                // any change fails the tag, with both
                int flip = random.nextInt(na);
                a.put(flip, (byte) (a.get(flip) ^ (1 << random.nextInt(8))));
                assertThatThrownBy(() -> ssl.open(a, na, back1, nonce, aad)).isInstanceOf(AEADBadTagException.class);
                assertThatThrownBy(() -> jdk.open(a, na, back1, nonce, aad)).isInstanceOf(AEADBadTagException.class);
                byte[] otherNonce = nonce.clone();
                otherNonce[11] ^= 1;
                assertThatThrownBy(() -> ssl.open(b, nb, back1, otherNonce, aad)).isInstanceOf(AEADBadTagException.class);
                byte[] otherAad = java.util.Arrays.copyOf(aad, aad.length + 1);
                assertThatThrownBy(() -> ssl.open(b, nb, back1, nonce, otherAad)).isInstanceOf(AEADBadTagException.class);
                assertThatThrownBy(() -> ssl.open(b, 15, back1, nonce, aad)).isInstanceOf(AEADBadTagException.class);
            }
        }
    }

    @Test
    void rangesOutsideTheBufferAreRefusedBeforeNativeCode() {
        assumeTrue(ChunkCrypto.openSslUsable(), "libcrypto not loadable");
        SecretKeySpec key = new SecretKeySpec(new byte[32], "AES");
        try (ChunkCrypto ssl = ChunkCrypto.openSsl(key)) {
            ByteBuffer small = ByteBuffer.allocateDirect(100);
            ByteBuffer heap = ByteBuffer.allocate(1000);
            assertThatThrownBy(() -> ssl.seal(small, 101, ByteBuffer.allocateDirect(200), new byte[12], new byte[0]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("101");
            assertThatThrownBy(() -> ssl.seal(small, 90, small, new byte[12], new byte[0]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("106");
            assertThatThrownBy(() -> ssl.sha256(new byte[0], heap, 10)).isInstanceOf(IllegalArgumentException.class);
            ssl.close();
            ssl.close(); // idempotent
            assertThatThrownBy(() -> ssl.sha256(new byte[0], small, 10)).isInstanceOf(IllegalStateException.class);
        }
    }

    private static ByteBuffer random(Random random, int bytes) {
        byte[] b = new byte[bytes];
        random.nextBytes(b);
        return ByteBuffer.allocateDirect(bytes).put(0, b);
    }

    private static byte[] jdkSha(byte[] record, ByteBuffer data, int length) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(record);
        byte[] bytes = new byte[length];
        data.get(0, bytes);
        return sha.digest(bytes);
    }
}
