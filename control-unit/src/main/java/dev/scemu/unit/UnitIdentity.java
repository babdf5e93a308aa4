package dev.scemu.unit;

import java.util.OptionalLong;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Who a unit is: the identifiers it writes at {@code create} and keeps for life.
 *
 * <table>
 *   <caption>Identifiers and where they live</caption>
 *   <tr><th>identifier</th><th>stored in</th><th>seen by</th></tr>
 *   <tr><td>{@link #arrayUuid}</td><td>md superblock {@code set_uuid} of every member</td>
 *       <td>{@code mdadm --examine} ("Array UUID"); assembly refuses members of another set</td></tr>
 *   <tr><td>{@link #diskGuid}</td><td>GPT header</td><td>{@code sgdisk -p}, {@code sfdisk --json} ("id")</td></tr>
 *   <tr><td>partition GUIDs</td><td>GPT entries</td><td>{@code sfdisk --json} ("uuid")</td></tr>
 *   <tr><td>{@link #volumeId}</td><td>the GPT {@code data} partition's unique GUID</td>
 *       <td>backups (the source volume id of every image)</td></tr>
 * </table>
 *
 * <p>Each member's md device UUID is random (md picks it per member) in every mode; the snapshot
 * store's own volume id too.
 *
 * <p><b>Random unless simulated.</b> A unit's identifiers come from {@link java.util.UUID#randomUUID()}
 * ({@link java.security.SecureRandom}), so two units never look like one array to md and a backup
 * of one is never mistaken for a backup of another. Only in simulation mode
 * ({@link UnitConfig#simulationSeed()}) do they derive from the seed, so that a simulation replays
 * exactly: two simulated units of one seed have the same identity.
 *
 * <p>A unit with a directory records its identity in {@code unit.properties}
 * ({@code identity.arrayUuid}, {@code identity.diskGuid}, {@code identity.volumeId}); {@code open}
 * checks that the disk images it assembles carry it ({@link UnitError#IDENTITY_MISMATCH} otherwise:
 * images of another unit copied in).
 *
 * @param arrayUuid md array (set) UUID
 * @param diskGuid  GPT disk GUID
 * @param volumeId  unique GUID of the GPT {@code data} partition: the host volume's id
 */
public record UnitIdentity(UUID arrayUuid, UUID diskGuid, UUID volumeId) {

    private static final String ARRAY = "identity.arrayUuid";
    private static final String DISK = "identity.diskGuid";
    private static final String VOLUME = "identity.volumeId";

    /**
     * The source of a new unit's identifiers, in the order {@code create} draws them (array UUID,
     * GPT disk GUID, then one GUID per partition): random, or derived from the simulation seed
     * (the derivation every simulation so far used, so a seed keeps its identity and trace).
     */
    static Supplier<UUID> source(OptionalLong simulationSeed) {
        if (simulationSeed.isEmpty()) {
            return UUID::randomUUID;
        }
        Random random = new Random(simulationSeed.getAsLong());
        return () -> new UUID(random.nextLong(), random.nextLong());
    }

    void store(Properties properties) {
        properties.setProperty(ARRAY, arrayUuid.toString());
        properties.setProperty(DISK, diskGuid.toString());
        properties.setProperty(VOLUME, volumeId.toString());
    }

    /** The identity recorded in {@code properties}, or null for a unit saved before identities were recorded. */
    static UnitIdentity load(Properties properties) {
        String array = properties.getProperty(ARRAY);
        if (array == null) {
            return null;
        }
        try {
            return new UnitIdentity(UUID.fromString(array), UUID.fromString(properties.getProperty(DISK)),
                    UUID.fromString(properties.getProperty(VOLUME)));
        } catch (RuntimeException e) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "the identity in unit.properties is malformed ("
                    + ARRAY + "=" + array + ", " + DISK + "=" + properties.getProperty(DISK) + ", " + VOLUME + "="
                    + properties.getProperty(VOLUME) + "): " + e.getMessage());
        }
    }

    /** Fails with {@link UnitError#IDENTITY_MISMATCH} unless {@code found} (read from the disks) is this identity. */
    void check(UnitIdentity found, java.nio.file.Path directory) {
        if (!equals(found)) {
            throw new UnitException(UnitError.IDENTITY_MISMATCH, "the disk images in " + directory + " carry array "
                    + found.arrayUuid + ", GPT disk " + found.diskGuid + ", volume " + found.volumeId
                    + ", but unit.properties records array " + arrayUuid + ", GPT disk " + diskGuid + ", volume "
                    + volumeId + ": these are another unit's images");
        }
    }
}
