package dev.scemu.unit;

import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.TrustedKeys;
import java.security.KeyPair;
import java.util.Random;

/**
 * The embedded default firmware: a signed image whose body stands in for the controller's OS and
 * apps. The signing key derives from a seed, so a simulation is reproducible; a vendor passes its
 * own images and keys instead.
 */
public final class DefaultFirmware {

    /** Body size of the default image (the "OS + apps"). */
    public static final int BODY_BYTES = 256 << 10;

    private DefaultFirmware() {
    }

    /** The vendor signing key of a simulation with this seed. */
    public static KeyPair signingKey(long seed) {
        return TrustedKeys.generateEd25519(seed);
    }

    /** A signed image of {@code version} with the capabilities and data formats this scemu supports. */
    public static byte[] image(String version, long seed) {
        byte[] body = new byte[BODY_BYTES];
        new Random(seed ^ version.hashCode()).nextBytes(body);
        return FirmwareImage.builder().version(version).loadAddress(0x8000_0000)
                .body(body)
                .capabilities("raid0", "raid1", "raid5", "snapshots", "backup", "nbd")
                .dataFormat("mapping-table", 1).dataFormat("raid-superblock", 1)
                .sign(signingKey(seed)).build();
    }
}
