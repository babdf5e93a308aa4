package dev.scemu.testkit.fuzz;

import dev.scemu.core.FuzzSupport;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.ExecutionLog;
import dev.scemu.core.Extent;
import dev.scemu.core.Media;
import dev.scemu.raid.AssembleOptions;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidException;
import dev.scemu.raid.RaidLevel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;

/** Member images of small real arrays, made with the raid module's own API, and assembly from mutated images. */
final class RaidImages {

    static final int BLOCK = 4096;
    static final int MEMBER_BYTES = 2 << 20;
    static final int SUPER_OFFSET = 4096;
    static final int SUPER_BYTES = 4096;
    static final int BITMAP_START = 8192;
    /** Data offset of members below 64 MiB: 256 sectors. */
    static final int DATA_OFFSET = 256 * 512;
    /** Without a bitmap the RAID-5 parity journal starts right after the superblock's block. */
    static final int JOURNAL_START = 8192;

    private RaidImages() {
    }

    /** A cleanly stopped RAID-1 of two members with an internal write-intent bitmap and some data. */
    static byte[][] cleanMirrorWithBitmap() {
        List<BlockDevice> members = members(2);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID1).name("fuzz1").bitmap(true)
                .setUuid(new UUID(11, 12)).assumeClean(true).build(), members);
        writeRandom(array, 7, 0, 16);
        array.flush();
        array.stop();
        return imagesOf(members);
    }

    /**
     * Images of members 0 and 1 of a three-member RAID-5 (no bitmap) whose member 2 failed, taken
     * right after a degraded write without a stop: a dirty degraded array whose parity journal
     * holds the unfinished transaction of that write.
     */
    static byte[][] dirtyDegradedRaid5WithJournal() {
        return dirtyDegradedRaid5WithJournal(stripeSegmentBegin(), stripeSegmentMask());
    }

    /** BEGIN payload of the parity journal for stripe row 1, member lba 16, one block: u64 row | u64 memberLba | u32 blocks. */
    static byte[] stripeSegmentBegin() {
        return ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1).putLong(8, 16).putInt(16, 1).array();
    }

    /** STEP 0 payload: u32 mask of the written members that are present (member 0). */
    static byte[] stripeSegmentMask() {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 0b01).array();
    }

    /** As {@link #dirtyDegradedRaid5WithJournal()}, with the unfinished transaction's BEGIN and mask payloads given. */
    static byte[][] dirtyDegradedRaid5WithJournal(byte[] beginPayload, byte[] maskPayload) {
        List<BlockDevice> members = members(3);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).name("fuzz5").chunkBytes(64 << 10).bitmap(false)
                .setUuid(new UUID(21, 22)).assumeClean(true).build(), members);
        writeRandom(array, 8, 0, 8);
        array.flush();
        array.failMember(2);
        writeRandom(array, 9, 3, 2); // journaled: member 2 is missing
        byte[][] images = imagesOf(members.subList(0, 2)); // power cut: no stop
        array.close();
        // the array synced that write's COMMIT; journal one more stripe segment the way the
        // parity journal does (BEGIN row | memberLba | blocks, STEP 0 mask, STEPs 1.. partial parity)
        // and cut the power before its COMMIT
        byte[] region = Arrays.copyOfRange(images[0], JOURNAL_START, DATA_OFFSET);
        try (BlockDevice device = FuzzSupport.deviceOf("journal", BLOCK, region)) {
            ExecutionLog log = ExecutionLog.format(device, new Extent(0, region.length / BLOCK));
            long tx = log.begin(1, ByteBuffer.wrap(beginPayload));
            log.step(tx, 0, ByteBuffer.wrap(maskPayload));
            byte[] parity = new byte[BLOCK];
            new Random(10).nextBytes(parity);
            int piece = log.maxPayloadBytes() / 2;
            for (int offset = 0, step = 1; offset < BLOCK; offset += piece) {
                log.step(tx, step++, ByteBuffer.wrap(parity, offset, Math.min(piece, BLOCK - offset)));
            }
            log.sync();
            region = FuzzSupport.contentsOf(device);
        }
        for (byte[] image : images) {
            System.arraycopy(region, 0, image, JOURNAL_START, region.length);
        }
        return images;
    }

    private static List<BlockDevice> members(int count) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            members.add(Media.memory("m" + i, BlockGeometry.ofBytes(BLOCK, MEMBER_BYTES)));
        }
        return members;
    }

    private static void writeRandom(RaidArray array, long seed, long lba, int blocks) {
        byte[] bytes = new byte[blocks * BLOCK];
        new Random(seed).nextBytes(bytes);
        array.write(lba, blocks, ByteBuffer.allocateDirect(bytes.length).put(bytes).flip(), 0);
    }

    private static byte[][] imagesOf(List<BlockDevice> members) {
        byte[][] images = new byte[members.size()][];
        for (int i = 0; i < images.length; i++) {
            images[i] = FuzzSupport.contentsOf(members.get(i));
        }
        return images;
    }

    /**
     * Assembles members holding {@code images}; a rejection must be a {@link RaidException} that
     * left every member unchanged. A successful assembly is stopped again.
     */
    static void assembleExpectingNoWriteOnRejection(byte[][] images) {
        List<BlockDevice> devices = new ArrayList<>();
        for (int i = 0; i < images.length; i++) {
            devices.add(FuzzSupport.deviceOf("m" + i, BLOCK, images[i]));
        }
        try {
            RaidArray array = RaidArray.assemble(devices, AssembleOptions.defaults());
            array.stop();
        } catch (RaidException rejected) {
            for (int i = 0; i < images.length; i++) {
                if (!Arrays.equals(FuzzSupport.contentsOf(devices.get(i)), images[i])) {
                    throw new AssertionError("rejected assembly wrote to member " + i + ": " + rejected, rejected);
                }
            }
            throw rejected;
        } finally {
            devices.forEach(BlockDevice::close);
        }
    }
}
