package dev.scemu.flash;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Fingerprints, rotatable key sets and PEM text of keys. */
class TrustedKeysTest {

    @Test
    void aRotatableSetRefusesAnImageFromTheVerificationAfterItsKeyWasReplaced() {
        byte[] image = TestImages.signed("1.0.0", 4096);
        TrustedKeys keys = TrustedKeys.rotatable(List.of(TestImages.KEY.getPublic()));
        assertThat(FirmwareImage.parse(image, keys).isSignatureVerified()).isTrue(); // also fills the verification cache

        keys.replaceKeys(List.of(TestImages.OTHER_KEY.getPublic()));
        assertThatThrownBy(() -> FirmwareImage.parse(image, keys))
                .isInstanceOf(FlashException.class)
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.UNKNOWN_KEY))
                .hasMessageContaining("signed by key " + TrustedKeys.fingerprint(TestImages.KEY.getPublic()))
                .hasMessageContaining("(trusted: " + TrustedKeys.fingerprint(TestImages.OTHER_KEY.getPublic()) + ")");

        keys.replaceKeys(List.of(TestImages.OTHER_KEY.getPublic(), TestImages.KEY.getPublic()));
        assertThat(FirmwareImage.parse(image, keys).isSignatureVerified()).isTrue();
        assertThat(keys.fingerprints()).hasSize(2);
    }

    @Test
    void aFixedSetCannotBeReplacedAndNoSetCanBeEmptied() {
        assertThatThrownBy(() -> TestImages.TRUSTED.replaceKeys(List.of(TestImages.OTHER_KEY.getPublic())))
                .hasMessageContaining("fixed");
        TrustedKeys keys = TrustedKeys.rotatable(List.of(TestImages.KEY.getPublic()));
        assertThatThrownBy(() -> keys.replaceKeys(List.of())).hasMessageContaining("at least one key");
        assertThat(keys.keys()).containsExactly(TestImages.KEY.getPublic());
    }

    @Test
    void theFingerprintIsTheKeyHashAnImageCarries() {
        FirmwareImage image = FirmwareImage.parse(TestImages.signed("1.0.0", 4096), TestImages.TRUSTED);
        assertThat(TrustedKeys.fingerprint(TestImages.KEY.getPublic())).hasSize(64)
                .isEqualTo(HexFormat.of().formatHex(image.keyHash()));
    }

    @Test
    void pemTextRoundTripsAndMalformedTextIsAClearError() {
        KeyPair pair = TrustedKeys.generateEd25519(new SecureRandom());
        String publicPem = KeyPem.encode(pair.getPublic());
        String privatePem = KeyPem.encode(pair.getPrivate());
        assertThat(publicPem).startsWith("-----BEGIN PUBLIC KEY-----\n");
        assertThat(KeyPem.decodePublic(publicPem, "pub")).isEqualTo(pair.getPublic());
        assertThat(TrustedKeys.publicKeyOf(KeyPem.decodePrivate(privatePem, "key"))).isEqualTo(pair.getPublic());
        assertThatThrownBy(() -> KeyPem.decodePublic(privatePem, "key.pem"))
                .hasMessageContaining("key.pem does not hold a PEM public key (it holds another PEM type)");
        assertThatThrownBy(() -> KeyPem.decodePrivate("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n", "x"))
                .hasMessageContaining("x is not a valid PEM private key");
    }
}
