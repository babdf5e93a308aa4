package dev.scemu.testkit.sim.internal;

import dev.scemu.unit.DefaultFirmware;
import java.security.KeyPair;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Signed default firmware images of the simulated vendor, one per version, built once per JVM
 * (building and signing a 256 KiB image costs more than a small simulation step).
 */
public final class FirmwareImages {

    /** Seed of the simulated vendor's signing key (the same for every simulation). */
    public static final long VENDOR_SEED = 0x5CE3_0001L;

    private static final Map<String, byte[]> IMAGES = new ConcurrentHashMap<>();
    private static volatile KeyPair key;

    private FirmwareImages() {
    }

    /** The signed image of {@code version} (a copy). */
    public static byte[] image(String version) {
        return IMAGES.computeIfAbsent(version, v -> DefaultFirmware.image(v, VENDOR_SEED)).clone();
    }

    public static KeyPair signingKey() {
        KeyPair k = key;
        if (k == null) {
            k = DefaultFirmware.signingKey(VENDOR_SEED);
            key = k;
        }
        return k;
    }

    /** Version {@code 1.0.<revision>}. */
    public static String version(int revision) {
        return "1.0." + revision;
    }
}
