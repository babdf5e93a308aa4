package dev.scemu.unit;

import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.TrustedKeys;
import java.security.KeyPair;
import java.util.Random;

/**
 * The embedded default firmware: a signed image whose body stands in for the controller's OS and
 * apps. A unit created with it trusts the key that signed it: a key pair generated at create
 * ({@link StorageControlUnit#testSigningKey()}), or in simulation mode the key derived from the seed
 * ({@link #signingKey(long)}), so that a simulation is reproducible. A vendor passes its own images
 * and its public key instead.
 */
public final class DefaultFirmware {

    /** Body size of the default image (the "OS + apps"). */
    public static final int BODY_BYTES = 256 << 10;

    private DefaultFirmware() {
    }

    /**
     * The vendor signing key of a simulation with this seed. Anyone who knows the seed can derive
     * it: only simulated units trust it.
     */
    public static KeyPair signingKey(long seed) {
        return TrustedKeys.generateEd25519(seed);
    }

    /** A signed image of {@code version} from the simulation key of {@code seed} ({@link #signingKey(long)}). */
    public static byte[] image(String version, long seed) {
        return image(version, seed ^ version.hashCode(), signingKey(seed));
    }

    /**
     * A signed image of {@code version} with the capabilities and data formats this scemu supports,
     * signed by {@code key} (a unit's {@linkplain StorageControlUnit#testSigningKey() test key}, or
     * any key the unit trusts). The body depends on the version only.
     */
    public static byte[] image(String version, KeyPair key) {
        return image(version, version.hashCode(), key);
    }

    private static byte[] image(String version, long bodySeed, KeyPair key) {
        byte[] body = new byte[BODY_BYTES];
        new Random(bodySeed).nextBytes(body);
        return FirmwareImage.builder().version(version).loadAddress(0x8000_0000)
                .body(body)
                .capabilities("raid0", "raid1", "raid5", "snapshots", "backup", "nbd")
                .dataFormat("mapping-table", 1).dataFormat("raid-superblock", 1)
                .sign(key).build();
    }
}
