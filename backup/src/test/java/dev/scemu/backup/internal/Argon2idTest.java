package dev.scemu.backup.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.scemu.backup.KdfParameters;
import java.util.HexFormat;
import java.util.Random;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;
import org.junit.jupiter.api.Test;

/**
 * libargon2 and BouncyCastle derive the same Argon2id key (so images keyed before libargon2 was
 * used, with BouncyCastle, open with it, and the other way round), at the default parameters and at
 * several lanes, for ASCII, non-ASCII and empty passwords. The libargon2 half is skipped where the
 * library is not installed (BouncyCastle is then the one used).
 */
class Argon2idTest {

    @Test
    void reportsWhatIsInUse() {
        String implementation = Argon2id.implementation();
        if (Argon2id.nativeUsable() && !"bouncycastle".equals(System.getProperty(Argon2id.PROPERTY))) {
            assertThat(implementation).startsWith("libargon2");
        } else {
            assertThat(implementation).startsWith("BouncyCastle");
        }
    }

    @Test
    void libargon2AgreesWithBouncyCastleAsTheFormatUsedIt() {
        assumeTrue(Argon2id.nativeUsable(), Argon2id.implementation());
        Random random = new Random(21);
        String[] passwords = {"benchmark password", "pässwörd \u20ac \uD83D\uDD11", ""};
        KdfParameters[] parameters = {KdfParameters.DEFAULT, new KdfParameters(1024, 3, 4), new KdfParameters(8, 1, 1)};
        for (String password : passwords) {
            for (KdfParameters kdf : parameters) {
                byte[] salt = new byte[16];
                random.nextBytes(salt);
                byte[] expected = asBefore(password.toCharArray(), salt, kdf);
                assertThat(HexFormat.of().formatHex(Argon2id.nativeDerive(password.toCharArray(), salt, kdf)))
                        .as("libargon2, password '%s', %s", password, kdf).isEqualTo(HexFormat.of().formatHex(expected));
                assertThat(Argon2id.derive(password.toCharArray(), salt, kdf)).isEqualTo(expected);
            }
        }
    }

    @Test
    void differentInputsGiveDifferentKeys() {
        byte[] salt = new byte[16];
        KdfParameters kdf = new KdfParameters(64, 1, 1);
        byte[] a = Argon2id.derive("a".toCharArray(), salt, kdf);
        assertThat(Argon2id.derive("b".toCharArray(), salt, kdf)).isNotEqualTo(a);
        salt[0] = 1;
        assertThat(Argon2id.derive("a".toCharArray(), salt, kdf)).isNotEqualTo(a);
        assertThat(Argon2id.derive("a".toCharArray(), new byte[16], new KdfParameters(64, 2, 1))).isNotEqualTo(a);
    }

    /** Exactly what ImageKeys ran before libargon2 (BouncyCastle's builder defaults, UTF-8 passwords). */
    private static byte[] asBefore(char[] password, byte[] salt, KdfParameters kdf) {
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id).withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withSalt(salt).withMemoryAsKB(kdf.memoryKiB()).withIterations(kdf.iterations())
                .withParallelism(kdf.parallelism()).build());
        byte[] out = new byte[32];
        generator.generateBytes(password, out);
        return out;
    }
}
