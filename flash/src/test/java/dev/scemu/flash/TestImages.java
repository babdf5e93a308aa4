package dev.scemu.flash;

import java.security.KeyPair;
import java.util.Random;

/** Deterministic keys and images shared by the tests. */
final class TestImages {

    static final KeyPair KEY = TrustedKeys.generateEd25519(42);
    static final KeyPair OTHER_KEY = TrustedKeys.generateEd25519(43);
    static final TrustedKeys TRUSTED = TrustedKeys.of(KEY.getPublic());

    private TestImages() {
    }

    static byte[] body(int length, long seed) {
        byte[] body = new byte[length];
        new Random(seed).nextBytes(body);
        return body;
    }

    static FirmwareImage.Builder base(String version, int bodyLength) {
        return FirmwareImage.builder().version(version).loadAddress(0x1000)
                .body(body(bodyLength, version.hashCode()))
                .capabilities("raid0", "raid1", "snapshots")
                .dataFormat("mapping-table", 1).dataFormat("raid-superblock", 1);
    }

    static byte[] signed(String version, int bodyLength) {
        return base(version, bodyLength).sign(KEY).build();
    }
}
