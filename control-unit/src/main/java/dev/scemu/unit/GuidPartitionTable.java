package dev.scemu.unit;

import static dev.scemu.unit.GptLayout.*;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.core.SliceDevice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.zip.CRC32;

/**
 * A GUID Partition Table: builds a layout, writes it (protective MBR, primary and backup headers
 * and entry arrays, CRC32s) and reads it back, falling back to the backup copy when the primary is
 * damaged. Layout in {@link GptLayout}.
 *
 * <p>Ordering: {@link #write} writes the backup copy and flushes, then the protective MBR and the
 * primary copy and flushes, so a power cut at any point leaves at least one valid copy of either
 * the old or the new table (when the old one was valid).
 */
public final class GuidPartitionTable {

    /** Partition type of the volume's data (Linux filesystem data, as tools show it). */
    public static final UUID TYPE_DATA = UUID.fromString("0fc63daf-8483-4772-8e79-3d69d8477de4");
    /** scemu's reserved firmware-backup partition (vendor type GUID). */
    public static final UUID TYPE_FIRMWARE_BACKUP = UUID.fromString("5ce3f1a5-b0c4-4f1e-9a6b-2f1d8e3c7a01");
    /** scemu's snapshot store partition (vendor type GUID). */
    public static final UUID TYPE_SNAPSHOT_STORE = UUID.fromString("5ce3f1a5-b0c4-4f1e-9a6b-2f1d8e3c7a02");

    private final UUID diskGuid;
    private final long sectorCount;
    private final List<GptPartition> partitions;
    private final boolean readFromBackup;

    private GuidPartitionTable(UUID diskGuid, long sectorCount, List<GptPartition> partitions, boolean readFromBackup) {
        this.diskGuid = diskGuid;
        this.sectorCount = sectorCount;
        this.partitions = List.copyOf(partitions);
        this.readFromBackup = readFromBackup;
    }

    /** What to put in a new layout: a name, a type and a size in bytes (0 = the rest of the disk; only last). */
    public record PartitionSpec(String name, UUID typeGuid, long sizeBytes) {
    }

    /**
     * Lays out {@code specs} in order on a device of {@code deviceBytes}, each partition starting
     * on a 1 MiB boundary and sized in whole MiB (rounded up); a size of 0 takes the rest.
     */
    public static GuidPartitionTable layout(UUID diskGuid, long deviceBytes, List<PartitionSpec> specs,
                                            java.util.function.Supplier<UUID> uniqueGuids) {
        long sectorCount = deviceBytes / SECTOR_BYTES;
        long lastUsable = sectorCount - BACKUP_SECTORS - 1;
        long next = ALIGNMENT_SECTORS;
        List<GptPartition> partitions = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            PartitionSpec spec = specs.get(i);
            if (spec.name().length() > NAME_CODE_UNITS) {
                throw new UnitException(UnitError.INVALID_LAYOUT, "partition name '" + spec.name()
                        + "' is longer than " + NAME_CODE_UNITS + " characters");
            }
            long last;
            if (spec.sizeBytes() == 0) {
                if (i != specs.size() - 1) {
                    throw new UnitException(UnitError.INVALID_LAYOUT, "only the last partition may take the rest");
                }
                last = (lastUsable + 1) / ALIGNMENT_SECTORS * ALIGNMENT_SECTORS - 1;
            } else {
                long sectors = (spec.sizeBytes() + (1 << 20) - 1) / (1 << 20) * ALIGNMENT_SECTORS;
                last = next + sectors - 1;
            }
            if (last > lastUsable || last < next) {
                throw new UnitException(UnitError.INVALID_LAYOUT, "partition '" + spec.name() + "' (" + spec.sizeBytes()
                        + " bytes) does not fit a device of " + deviceBytes + " bytes (last usable sector " + lastUsable + ")");
            }
            partitions.add(new GptPartition(spec.typeGuid(), uniqueGuids.get(), next, last, 0, spec.name()));
            next = last + 1;
        }
        return new GuidPartitionTable(diskGuid, sectorCount, partitions, false);
    }

    public UUID diskGuid() {
        return diskGuid;
    }

    public List<GptPartition> partitions() {
        return partitions;
    }

    /** Whether {@link #read} found the primary copy damaged and used the backup. */
    public boolean readFromBackup() {
        return readFromBackup;
    }

    public Optional<GptPartition> find(String name) {
        return partitions.stream().filter(p -> p.name().equals(name)).findFirst();
    }

    /** The device blocks of partition {@code name} (partitions are 1 MiB aligned, so whole blocks). */
    public Extent extentOf(String name, int blockSize) {
        GptPartition partition = find(name).orElseThrow(() ->
                new UnitException(UnitError.NO_SUCH_PARTITION, "no partition named '" + name + "' in " + partitions));
        return Extent.of(partition.offsetBytes() / blockSize, partition.sizeBytes() / blockSize);
    }

    /** A device window onto partition {@code name} of {@code device}. */
    public SliceDevice open(String name, BlockDevice device) {
        return SliceDevice.of(name, device, extentOf(name, device.blockSize()));
    }

    // ---------------------------------------------------------------- write

    /** Writes the table to {@code device} (see the class's ordering note). */
    public void write(BlockDevice device) {
        if (device.geometry().capacityBytes() / SECTOR_BYTES != sectorCount) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "table for " + sectorCount
                    + " sectors does not match device " + device.name() + " of " + device.geometry());
        }
        ByteBuffer entries = encodeEntries();
        long lastSector = sectorCount - 1;
        long backupEntries = lastSector - ENTRY_ARRAY_SECTORS;
        ByteBuffer backup = ByteBuffer.allocate((int) BACKUP_SECTORS * SECTOR_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        backup.put(0, entries, 0, ENTRY_ARRAY_BYTES);
        backup.put(ENTRY_ARRAY_BYTES, encodeHeader(lastSector, 1, backupEntries, entries), 0, SECTOR_BYTES);
        writeBytes(device, backupEntries * SECTOR_BYTES, backup);
        device.flush();

        ByteBuffer primary = ByteBuffer.allocate((int) PRIMARY_SECTORS * SECTOR_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        primary.put(0, encodeProtectiveMbr(), 0, SECTOR_BYTES);
        primary.put(SECTOR_BYTES, encodeHeader(1, lastSector, 2, entries), 0, SECTOR_BYTES);
        primary.put(2 * SECTOR_BYTES, entries, 0, ENTRY_ARRAY_BYTES);
        writeBytes(device, 0, primary);
        device.flush();
    }

    private ByteBuffer encodeEntries() {
        ByteBuffer entries = ByteBuffer.allocate(ENTRY_ARRAY_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < partitions.size(); i++) {
            GptPartition p = partitions.get(i);
            int at = i * ENTRY_BYTES;
            putGuid(entries, at + E_TYPE, p.typeGuid());
            putGuid(entries, at + E_UNIQUE, p.uniqueGuid());
            entries.putLong(at + E_FIRST, p.firstSector());
            entries.putLong(at + E_LAST, p.lastSector());
            entries.putLong(at + E_ATTRIBUTES, p.attributes());
            byte[] name = p.name().getBytes(StandardCharsets.UTF_16LE);
            entries.put(at + E_NAME, name);
        }
        return entries;
    }

    private ByteBuffer encodeHeader(long myLba, long alternateLba, long entriesLba, ByteBuffer entries) {
        ByteBuffer header = ByteBuffer.allocate(SECTOR_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        header.putLong(H_SIGNATURE, SIGNATURE);
        header.putInt(H_REVISION, REVISION);
        header.putInt(H_SIZE, HEADER_BYTES);
        header.putLong(H_MY_LBA, myLba);
        header.putLong(H_ALTERNATE_LBA, alternateLba);
        header.putLong(H_FIRST_USABLE, PRIMARY_SECTORS);
        header.putLong(H_LAST_USABLE, sectorCount - BACKUP_SECTORS - 1);
        putGuid(header, H_DISK_GUID, diskGuid);
        header.putLong(H_ENTRIES_LBA, entriesLba);
        header.putInt(H_ENTRY_COUNT, ENTRY_COUNT);
        header.putInt(H_ENTRY_SIZE, ENTRY_BYTES);
        header.putInt(H_ENTRIES_CRC, crc32(entries, 0, ENTRY_ARRAY_BYTES));
        header.putInt(H_CRC, crc32(header, 0, HEADER_BYTES));
        return header;
    }

    private ByteBuffer encodeProtectiveMbr() {
        ByteBuffer mbr = ByteBuffer.allocate(SECTOR_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        mbr.put(MBR_RECORD + 1, (byte) 0x00).put(MBR_RECORD + 2, (byte) 0x02).put(MBR_RECORD + 3, (byte) 0x00);
        mbr.put(MBR_RECORD + 4, (byte) 0xEE);
        mbr.put(MBR_RECORD + 5, (byte) 0xFF).put(MBR_RECORD + 6, (byte) 0xFF).put(MBR_RECORD + 7, (byte) 0xFF);
        mbr.putInt(MBR_RECORD + 8, 1);
        mbr.putInt(MBR_RECORD + 12, (int) Math.min(sectorCount - 1, 0xFFFFFFFFL));
        mbr.put(MBR_SIGNATURE, (byte) 0x55).put(MBR_SIGNATURE + 1, (byte) 0xAA);
        return mbr;
    }

    /** Read-modify-writes {@code bytes} at byte {@code offset} of the device, in whole blocks. */
    private static void writeBytes(BlockDevice device, long offset, ByteBuffer bytes) {
        int blockSize = device.blockSize();
        long firstLba = offset / blockSize;
        long endLba = (offset + bytes.capacity() + blockSize - 1) / blockSize;
        int blockCount = (int) (endLba - firstLba);
        ByteBuffer blocks = ByteBuffer.allocateDirect(blockCount * blockSize);
        device.read(firstLba, blockCount, blocks, 0);
        blocks.put((int) (offset - firstLba * blockSize), bytes, 0, bytes.capacity());
        device.write(firstLba, blockCount, blocks, 0);
    }

    // ---------------------------------------------------------------- read

    /**
     * Reads the table of {@code device}: the primary copy if it is valid, else the backup copy
     * ({@link #readFromBackup()} tells). Neither valid → {@link UnitError#CORRUPT_PARTITION_TABLE}
     * naming what failed in each.
     */
    public static GuidPartitionTable read(BlockDevice device) {
        long sectorCount = device.geometry().capacityBytes() / SECTOR_BYTES;
        if (sectorCount < PRIMARY_SECTORS + BACKUP_SECTORS + 1) {
            throw new UnitException(UnitError.CORRUPT_PARTITION_TABLE, "device " + device.name()
                    + " of " + sectorCount + " sectors is too small for a GPT");
        }
        String primaryProblem;
        try {
            return parse(device, sectorCount, 1, false);
        } catch (UnitException e) {
            primaryProblem = e.getMessage();
        }
        try {
            return parse(device, sectorCount, sectorCount - 1, true);
        } catch (UnitException e) {
            throw new UnitException(UnitError.CORRUPT_PARTITION_TABLE, "device " + device.name()
                    + ": primary GPT: " + primaryProblem + "; backup GPT: " + e.getMessage());
        }
    }

    private static GuidPartitionTable parse(BlockDevice device, long sectorCount, long headerLba, boolean backup) {
        ByteBuffer header = readBytes(device, headerLba * SECTOR_BYTES, SECTOR_BYTES);
        if (header.getLong(H_SIGNATURE) != SIGNATURE) {
            throw corrupt("no 'EFI PART' signature at sector " + headerLba);
        }
        int headerSize = header.getInt(H_SIZE);
        if (headerSize < HEADER_BYTES || headerSize > SECTOR_BYTES) {
            throw corrupt("header size " + headerSize + " is out of range");
        }
        int storedCrc = header.getInt(H_CRC);
        header.putInt(H_CRC, 0);
        int actualCrc = crc32(header, 0, headerSize);
        if (storedCrc != actualCrc) {
            throw corrupt(String.format("header CRC32 %08x does not match computed %08x", storedCrc, actualCrc));
        }
        if (header.getLong(H_MY_LBA) != headerLba) {
            throw corrupt("header says it is at sector " + header.getLong(H_MY_LBA) + ", found at " + headerLba);
        }
        int entryCount = header.getInt(H_ENTRY_COUNT);
        int entrySize = header.getInt(H_ENTRY_SIZE);
        long entriesLba = header.getLong(H_ENTRIES_LBA);
        if (entrySize < ENTRY_BYTES || entrySize > 4096 || Integer.bitCount(entrySize) != 1
                || entryCount < 1 || entryCount > 4096) {
            throw corrupt("entry count " + entryCount + " x size " + entrySize + " is out of range");
        }
        long arrayBytes = (long) entryCount * entrySize;
        if (entriesLba < 2 || entriesLba + (arrayBytes + SECTOR_BYTES - 1) / SECTOR_BYTES > sectorCount) {
            throw corrupt("entry array at sector " + entriesLba + " is outside the device");
        }
        ByteBuffer entries = readBytes(device, entriesLba * SECTOR_BYTES, (int) arrayBytes);
        int entriesCrc = crc32(entries, 0, (int) arrayBytes);
        if (entriesCrc != header.getInt(H_ENTRIES_CRC)) {
            throw corrupt(String.format("entry array CRC32 %08x does not match header's %08x",
                    entriesCrc, header.getInt(H_ENTRIES_CRC)));
        }
        long firstUsable = header.getLong(H_FIRST_USABLE);
        long lastUsable = header.getLong(H_LAST_USABLE);
        List<GptPartition> partitions = new ArrayList<>();
        for (int i = 0; i < entryCount; i++) {
            int at = i * entrySize;
            UUID type = getGuid(entries, at + E_TYPE);
            if (type.getMostSignificantBits() == 0 && type.getLeastSignificantBits() == 0) {
                continue;
            }
            long first = entries.getLong(at + E_FIRST);
            long last = entries.getLong(at + E_LAST);
            if (first < firstUsable || last > lastUsable || last < first) {
                throw corrupt("partition " + (i + 1) + " [" + first + ", " + last + "] is outside the usable sectors ["
                        + firstUsable + ", " + lastUsable + "]");
            }
            byte[] nameBytes = new byte[NAME_CODE_UNITS * 2];
            entries.get(at + E_NAME, nameBytes);
            String name = new String(nameBytes, StandardCharsets.UTF_16LE);
            int end = name.indexOf('\0');
            partitions.add(new GptPartition(type, getGuid(entries, at + E_UNIQUE), first, last,
                    entries.getLong(at + E_ATTRIBUTES), end < 0 ? name : name.substring(0, end)));
        }
        return new GuidPartitionTable(getGuid(header, H_DISK_GUID), sectorCount, partitions, backup);
    }

    private static ByteBuffer readBytes(BlockDevice device, long offset, int length) {
        int blockSize = device.blockSize();
        long firstLba = offset / blockSize;
        long endLba = (offset + length + blockSize - 1) / blockSize;
        ByteBuffer blocks = ByteBuffer.allocateDirect((int) (endLba - firstLba) * blockSize);
        device.read(firstLba, (int) (endLba - firstLba), blocks, 0);
        ByteBuffer bytes = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.put(0, blocks, (int) (offset - firstLba * blockSize), length);
        return bytes;
    }

    private static UnitException corrupt(String message) {
        return new UnitException(UnitError.CORRUPT_PARTITION_TABLE, message);
    }

    private static int crc32(ByteBuffer buffer, int offset, int length) {
        CRC32 crc = new CRC32();
        crc.update(buffer.duplicate().position(offset).limit(offset + length));
        return (int) crc.getValue();
    }

    /** Writes a GUID in GPT's mixed-endian form: time_low, time_mid, time_hi little-endian, the rest as-is. */
    static void putGuid(ByteBuffer buffer, int offset, UUID guid) {
        long msb = guid.getMostSignificantBits();
        long lsb = guid.getLeastSignificantBits();
        ByteBuffer le = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        le.putInt(offset, (int) (msb >>> 32));
        le.putShort(offset + 4, (short) (msb >>> 16));
        le.putShort(offset + 6, (short) msb);
        ByteBuffer be = buffer.duplicate().order(ByteOrder.BIG_ENDIAN);
        be.putLong(offset + 8, lsb);
    }

    static UUID getGuid(ByteBuffer buffer, int offset) {
        ByteBuffer le = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long msb = ((long) le.getInt(offset) << 32) | ((le.getShort(offset + 4) & 0xFFFFL) << 16)
                | (le.getShort(offset + 6) & 0xFFFFL);
        long lsb = buffer.duplicate().order(ByteOrder.BIG_ENDIAN).getLong(offset + 8);
        return new UUID(msb, lsb);
    }

    @Override
    public String toString() {
        return "GPT " + diskGuid + " " + partitions;
    }
}
