package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.MediaKind;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.raid.internal.MdBitmapLayout;
import dev.scemu.raid.internal.MdRaidArray;
import dev.scemu.raid.internal.MdSuperblock;
import dev.scemu.raid.internal.MdSuperblockLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A resync after a power cut ends the sync of every bitmap chunk it passed, as md does
 * (md_bitmap_cond_end_sync during the pass, md_bitmap_close_sync at its end), also when one resync
 * unit spans several bitmap chunks: a RAID-1 assembles with 512 KiB regions (md keeps no chunk for
 * RAID-1) over a bitmap of 64 KiB chunks. Before, the pass looked only at the first bit of each
 * unit: it skipped a unit whose first bit was clean (leaving torn mirrors different) and left the
 * other bits NEEDED, so a clean stop wrote resync_offset 0 ("active") and every assembly resynced
 * again.
 */
class ResyncBitmapTest {

    private static final int BLOCK = 4096;
    private static final int BITMAP_CHUNK = 64 * 1024;
    private static final int BLOCKS_PER_BIT = BITMAP_CHUNK / BLOCK;

    @TempDir
    Path dir;

    private static ByteBuffer read(BlockDevice device, long byteOffset, int length) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(length);
        device.read(byteOffset / device.blockSize(), length / device.blockSize(), buffer, 0);
        return buffer.order(ByteOrder.LITTLE_ENDIAN);
    }

    private static MdSuperblock superblock(BlockDevice member) {
        byte[] bytes = new byte[MdSuperblockLayout.SUPERBLOCK_BYTES];
        read(member, MdSuperblockLayout.SUPER_OFFSET_BYTES, bytes.length).get(0, bytes);
        return MdSuperblock.decode(bytes, "member");
    }

    /**
     * Bits set in the member's on-disk bitmap (at superblock + bitmap_offset), counting the
     * sync_size / chunksize bits that cover data only (mdadm fills the rest of the page with ones).
     */
    private static long bitsSetOnDisk(BlockDevice member, MdSuperblock sb) {
        long start = MdSuperblockLayout.SUPER_OFFSET_BYTES + sb.bitmapOffsetSectors * 512L;
        ByteBuffer page = read(member, start, BLOCK);
        long chunkSectors = page.getInt(MdBitmapLayout.OFF_CHUNKSIZE) / 512;
        long bits = (page.getLong(MdBitmapLayout.OFF_SYNC_SIZE) + chunkSectors - 1) / chunkSectors;
        assertThat(bits).as("bitmap fits its first page").isLessThanOrEqualTo((BLOCK - MdBitmapLayout.HEADER_BYTES) * 8L);
        long count = 0;
        for (int k = 0; k < bits; k++) {
            count += (page.get(MdBitmapLayout.HEADER_BYTES + k / 8) >> (k % 8)) & 1;
        }
        return count;
    }

    private static long bitmapEvents(BlockDevice member, MdSuperblock sb) {
        long start = MdSuperblockLayout.SUPER_OFFSET_BYTES + sb.bitmapOffsetSectors * 512L;
        return read(member, start, BLOCK).getLong(MdBitmapLayout.OFF_EVENTS);
    }

    /** The member data areas of the mirrors are byte for byte the same. */
    private static void assertMirrorsEqual(List<? extends BlockDevice> members, long dataOffsetSectors,
                                           long dataBytes, String what) {
        int piece = 1 << 20;
        for (long off = 0; off < dataBytes; off += piece) {
            int n = (int) Math.min(piece, dataBytes - off);
            ByteBuffer first = read(members.get(0), dataOffsetSectors * 512 + off, n);
            for (int m = 1; m < members.size(); m++) {
                ByteBuffer other = read(members.get(m), dataOffsetSectors * 512 + off, n);
                int mismatch = first.mismatch(other);
                assertThat(mismatch < 0 ? -1 : off + mismatch)
                        .as("%s: first member data byte where mirror %d differs from mirror 0 (-1 = none)", what, m)
                        .isEqualTo(-1L);
            }
        }
    }

    /**
     * Writes and trims into bitmap chunks 3, 5 and 6 (never chunk 0, the first of the 512 KiB
     * resync unit) with the last ones unflushed, cuts power, then tears the mirrors in chunk 6 as a
     * cut between the two mirror writes would (mirror 1 took a write mirror 0 did not).
     */
    private static ByteBuffer writeTrimCutAndTear(RaidArray array, PowerDomain domain, List<FaultInjectingDevice> members) {
        ByteBuffer flushed = TestArrays.randomBuffer(new Random(3), 11);
        array.write(5L * BLOCKS_PER_BIT + 3, 11, flushed, 0);
        array.flush();
        array.write(6L * BLOCKS_PER_BIT + 2, 4, TestArrays.randomBuffer(new Random(4), 4), 0);
        array.trim(3L * BLOCKS_PER_BIT, BLOCKS_PER_BIT);
        array.trim(5L * BLOCKS_PER_BIT + 14, 2);
        domain.cut(PowerCutMode.DROP_UNFLUSHED); // the array is abandoned like a crashed host's
        domain.restore();
        long dataOffsetBlocks = array.dataOffsetSectors() * 512 / BLOCK;
        FaultInjectingDevice mirror1 = members.get(1);
        mirror1.write(dataOffsetBlocks + 6L * BLOCKS_PER_BIT + 2, 4, TestArrays.randomBuffer(new Random(5), 4), 0);
        mirror1.flush();
        return flushed;
    }

    @Test
    void raid1ResyncAfterAPowerCutClearsEveryNeededBitAndAStopIsClean() throws Exception {
        PowerDomain domain = new PowerDomain(17);
        List<FaultInjectingDevice> members = TestArrays.domainMembers(domain, "m", 2, 4L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID1).chunkBytes(8 * 1024)
                .bitmapChunkBytes(BITMAP_CHUNK).assumeClean(true).build(), members);
        array.flush();
        ByteBuffer flushed = writeTrimCutAndTear(array, domain, members);
        long dataOffset = array.dataOffsetSectors();
        long dataBytes = array.memberDataBytes();
        MdSuperblock cut = superblock(members.get(0));
        assertThat(cut.isClean()).as("active at the cut").isFalse();
        assertThat(bitsSetOnDisk(members.get(0), cut)).as("bits of chunks 3, 5, 6 durable before the data").isEqualTo(3);

        RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(members));
        again.backgroundWork().get(60, TimeUnit.SECONDS);
        assertMirrorsEqual(members, dataOffset, dataBytes, "after the resync");
        ByteBuffer back = ByteBuffer.allocateDirect(11 * BLOCK);
        again.read(5L * BLOCKS_PER_BIT + 3, 11, back, 0);
        assertThat(back.mismatch(flushed)).as("flushed write survives").isEqualTo(-1);
        again.stop();
        for (FaultInjectingDevice m : members) {
            MdSuperblock sb = superblock(m);
            assertThat(sb.resyncOffsetSectors).as("%s: resync_offset after a completed resync and a clean stop",
                    m.name()).isEqualTo(MdSuperblockLayout.MAX_SECTOR);
            assertThat(bitsSetOnDisk(m, sb)).as("%s: bitmap bits after the clean stop", m.name()).isZero();
            assertThat(bitmapEvents(m, sb)).isEqualTo(sb.events);
        }
        if (Mdadm.executable() != null) {
            String out = Mdadm.run("--examine", Mdadm.dump(members.get(1), dir.resolve("m1.img")).toString());
            assertThat(Mdadm.fields(out).get("State")).as(out).isEqualTo("clean");
        }
        try (RaidArray third = RaidArray.assemble(new ArrayList<BlockDevice>(members))) {
            assertThat(superblock(members.get(0)).isClean()).as("the next assembly finds it clean: no resync").isTrue();
            assertThat(((MdRaidArray) third).bitmapDirtyBits()).isZero();
        }
    }

    /**
     * The same on a RAID-1 that the real mdadm made with a 64 KiB bitmap chunk: after the resync and a
     * clean stop, mdadm --examine says clean and --examine-bitmap counts no dirty chunk.
     */
    @Test
    void mdadmMadeRaid1IsCleanForMdadmAfterCutResyncAndStop() throws Exception {
        List<Path> paths = MdadmFixture.create(dir, "r1", 2, 32L << 20, "--level=1", "--bitmap=internal",
                "--bitmap-chunk=64K", "--assume-clean");
        PowerDomain domain = new PowerDomain(23);
        List<FaultInjectingDevice> members = new ArrayList<>();
        for (Path p : paths) {
            members.add(domain.attach(Media.openExisting(MediaKind.FILE, p, BLOCK)));
        }
        RaidArray array = RaidArray.assemble(new ArrayList<BlockDevice>(members));
        assertThat(array.chunkBytes()).as("a RAID-1 region: md keeps no chunk for RAID-1").isEqualTo(512 * 1024);
        // mdadm --create leaves every bit set; idle across flushes daemon_sleep apart they clear, as md's daemon clears them
        ((dev.scemu.raid.internal.MdRaidArray) array).setBitmapClock(BitmapRulesTest.flushesSixSecondsApart());
        for (int i = 0; i < 3; i++) {
            array.flush();
        }
        ByteBuffer flushed = writeTrimCutAndTear(array, domain, members);
        long dataOffset = array.dataOffsetSectors();
        long dataBytes = array.memberDataBytes();
        MdSuperblock cut = superblock(members.get(0));
        assertThat(cut.isClean()).as("active at the cut").isFalse();
        assertThat(bitsSetOnDisk(members.get(0), cut)).as("bits of chunks 3, 5, 6 durable before the data").isEqualTo(3);
        RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(members));
        again.backgroundWork().get(60, TimeUnit.SECONDS);
        assertMirrorsEqual(members, dataOffset, dataBytes, "after the resync");
        ByteBuffer back = ByteBuffer.allocateDirect(11 * BLOCK);
        again.read(5L * BLOCKS_PER_BIT + 3, 11, back, 0);
        assertThat(back.mismatch(flushed)).as("flushed write survives").isEqualTo(-1);
        again.close();
        for (Path p : paths) {
            Map<String, String> f = Mdadm.fields(MdadmFixture.examine(p));
            assertThat(f.get("State")).as(p + ": mdadm --examine after the clean stop").isEqualTo("clean");
            String bitmap = MdadmFixture.examineBitmap(p);
            Map<String, String> b = Mdadm.fields(bitmap);
            assertThat(b.get("Bitmap")).as(bitmap).contains(" 0 dirty");
            assertThat(b.get("Events")).as(bitmap).isEqualTo(f.get("Events"));
            assertThat(b.get("Chunksize")).as(bitmap).isEqualTo("64 KB");
        }
    }
}
