package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.raid.internal.MdRaidArray;
import dev.scemu.raid.internal.MdSuperblock;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real mdadm reads scemu's member images: superblock field by field, and the bitmap. */
class MdadmExamineTest {

    @TempDir
    Path dir;

    static List<BlockDevice> members(int count, long bytes) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            members.add(Media.memory("m" + i, BlockGeometry.ofBytes(4096, bytes)));
        }
        return members;
    }

    private Map<String, String> examine(BlockDevice member, String file) throws Exception {
        String out = Mdadm.run("--examine", Mdadm.dump(member, dir.resolve(file)).toString());
        System.out.println(out);
        assertThat(out).doesNotContain("No md superblock");
        return Mdadm.fields(out);
    }

    @Test
    void examineShowsRaid5LevelLayoutChunkRoleEventsAndState() throws Exception {
        Mdadm.assumeInstalled();
        List<BlockDevice> members = members(4, 32L << 20);
        RaidConfig config = RaidConfig.builder(RaidLevel.RAID5).name("scemu:vol0").chunkBytes(64 * 1024)
                .raid5Layout(Raid5Layout.LEFT_SYMMETRIC).assumeClean(true).build();
        RaidArray array = RaidArray.create(config, members);
        ByteBuffer data = ByteBuffer.allocateDirect(64 * 4096);
        array.write(100, 64, data, 0);
        array.flush();
        Map<String, String> dirty = examine(members.get(2), "dirty.img");
        assertThat(dirty.get("State")).isEqualTo("active");
        array.stop();

        Map<String, String> f = examine(members.get(2), "m2.img");
        assertThat(f.get("Magic")).isEqualTo("a92b4efc");
        assertThat(f.get("Version")).isEqualTo("1.2");
        assertThat(f.get("Raid Level")).isEqualTo("raid5");
        assertThat(f.get("Raid Devices")).isEqualTo("4");
        assertThat(f.get("Layout")).isEqualTo("left-symmetric");
        assertThat(f.get("Chunk Size")).isEqualTo("64K");
        assertThat(f.get("Device Role")).isEqualTo("Active device 2");
        assertThat(f.get("Events")).isEqualTo(Long.toString(array.events()));
        assertThat(f.get("State")).isEqualTo("clean");
        assertThat(f.get("Checksum")).endsWith("- correct");
        assertThat(f.get("Array UUID")).isEqualTo(MdSuperblock.mdadmUuid(array.setUuid()));
        assertThat(f.get("Name")).isEqualTo("scemu:vol0");
        assertThat(f.get("Data Offset")).isEqualTo(array.dataOffsetSectors() + " sectors");
        assertThat(f.get("Super Offset")).isEqualTo("8 sectors");
        assertThat(f.get("Internal Bitmap")).isEqualTo("8 sectors from superblock");
        assertThat(f.get("Array Size")).startsWith(array.memberDataBytes() * 3 / 1024 + " KiB");
        assertThat(f.get("Array State")).startsWith("AAAA ");
    }

    @Test
    void examineShowsEveryRaid5LayoutName() throws Exception {
        Mdadm.assumeInstalled();
        String[] names = {"left-asymmetric", "right-asymmetric", "left-symmetric", "right-symmetric"};
        for (Raid5Layout layout : Raid5Layout.values()) {
            List<BlockDevice> members = members(3, 4L << 20);
            RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(16384)
                    .raid5Layout(layout).assumeClean(true).build(), members);
            array.stop();
            Map<String, String> f = examine(members.get(0), "l" + layout.mdNumber() + ".img");
            assertThat(f.get("Layout")).isEqualTo(names[layout.mdNumber()]);
            assertThat(f.get("Chunk Size")).isEqualTo("16K");
            array.close();
        }
    }

    @Test
    void examineShowsRaid1AndRaid0() throws Exception {
        Mdadm.assumeInstalled();
        List<BlockDevice> mirror = members(3, 8L << 20);
        RaidArray raid1 = RaidArray.create(RaidConfig.builder(RaidLevel.RAID1).assumeClean(true).build(), mirror);
        raid1.stop();
        Map<String, String> f1 = examine(mirror.get(1), "r1.img");
        assertThat(f1.get("Raid Level")).isEqualTo("raid1");
        assertThat(f1.get("Raid Devices")).isEqualTo("3");
        assertThat(f1.get("Device Role")).isEqualTo("Active device 1");
        assertThat(f1.get("Array State")).startsWith("AAA ");

        List<BlockDevice> stripe = members(2, 8L << 20);
        RaidArray raid0 = RaidArray.create(RaidConfig.builder(RaidLevel.RAID0).chunkBytes(128 * 1024).build(), stripe);
        raid0.stop();
        Map<String, String> f0 = examine(stripe.get(1), "r0.img");
        assertThat(f0.get("Raid Level")).isEqualTo("raid0");
        assertThat(f0.get("Chunk Size")).isEqualTo("128K");
        assertThat(f0.get("Device Role")).isEqualTo("Active device 1");
    }

    @Test
    void examineShowsFailedMemberAsMissingAndHigherEvents() throws Exception {
        Mdadm.assumeInstalled();
        List<BlockDevice> members = members(3, 4L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(16384).assumeClean(true)
                .build(), members);
        long before = array.events();
        array.failMember(1);
        array.stop();
        Map<String, String> f = examine(members.get(0), "deg.img");
        assertThat(Long.parseLong(f.get("Events"))).isGreaterThan(before);
        assertThat(f.get("Array State")).startsWith("A.A ");
        Map<String, String> stale = examine(members.get(1), "stale.img");
        assertThat(Long.parseLong(stale.get("Events"))).isLessThan(Long.parseLong(f.get("Events")));
    }

    /** A member left out at assembly (damaged superblock) is recorded like one that failed: mdadm shows it missing. */
    @Test
    void examineShowsAMemberLeftOutAtAssemblyAsMissing() throws Exception {
        Mdadm.assumeInstalled();
        List<BlockDevice> members = members(4, 4L << 20);
        RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(16384).assumeClean(true).build(), members)
                .stop();
        java.nio.ByteBuffer block = java.nio.ByteBuffer.allocateDirect(4096);
        members.get(2).read(1, 1, block, 0);
        block.put(100, (byte) (block.get(100) ^ 0x10)); // the superblock checksum no longer matches
        members.get(2).write(1, 1, block, 0);
        RaidArray degraded = RaidArray.assemble(members);
        assertThat(degraded.memberFault(2)).startsWith("md superblock checksum mismatch");
        degraded.stop();
        Map<String, String> f = examine(members.get(0), "left-out.img");
        assertThat(f.get("Array State")).startsWith("AA.A ");
        assertThat(Mdadm.run("--examine", Mdadm.dump(members.get(2), dir.resolve("damaged.img")).toString()))
                .as("mdadm rejects the damaged superblock too").containsIgnoringCase("checksum");
    }

    /**
     * mdadm locates an internal bitmap only on a block device; given a regular file it reads a
     * bitmap file from byte 0. The member's bitmap region (byte 8192, 8 sectors after the
     * superblock) is therefore handed to it as a file: same bytes, same format.
     */
    @Test
    void examineBitmapShowsChunkSyncSizeAndDirtyBits() throws Exception {
        Mdadm.assumeInstalled();
        List<BlockDevice> members = members(4, 32L << 20);
        MdRaidArray array = (MdRaidArray) RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(64 * 1024)
                .bitmapChunkBytes(1 << 20).assumeClean(true).build(), members);
        ByteBuffer data = ByteBuffer.allocateDirect(3 * 64 * 1024);
        new Random(3).ints(0, 256).limit(16).forEach(i -> data.put(i, (byte) i));
        array.write(0, 48, data, 0);              // stripe 0 -> member bit 0
        array.write(3L * 256 * 5, 48, data, 0);   // member offset 5 MiB -> bit 5
        Path image = Mdadm.dump(members.get(0), dir.resolve("bm-member.img"));
        byte[] bytes = Files.readAllBytes(image);
        Path bitmapFile = Files.write(dir.resolve("bitmap.bin"), Arrays.copyOfRange(bytes, 8192, 8192 + 4096));
        String out = Mdadm.run("--examine-bitmap", bitmapFile.toString());
        System.out.println(out);
        Map<String, String> f = Mdadm.fields(out);
        assertThat(f.get("Magic")).isEqualTo("6d746962");
        assertThat(f.get("Version")).isEqualTo("4");
        assertThat(f.get("Chunksize")).isEqualTo("1 MB");
        assertThat(f.get("UUID")).isEqualTo(MdSuperblock.mdadmUuid(array.setUuid()));
        assertThat(f.get("Sync Size")).startsWith(array.memberDataBytes() / 1024 + " ");
        long bits = (array.memberDataBytes() + (1 << 20) - 1) >> 20;
        assertThat(f.get("Bitmap")).startsWith(bits + " bits (chunks), 2 dirty");
        array.stop();
        byte[] clean = Files.readAllBytes(Mdadm.dump(members.get(0), dir.resolve("bm-clean.img")));
        Path cleanBitmap = Files.write(dir.resolve("bitmap-clean.bin"), Arrays.copyOfRange(clean, 8192, 8192 + 4096));
        String out2 = Mdadm.run("--examine-bitmap", cleanBitmap.toString());
        System.out.println(out2);
        assertThat(Mdadm.fields(out2).get("Bitmap")).startsWith(bits + " bits (chunks), 0 dirty");
        assertThat(Mdadm.fields(out2).get("Events")).isEqualTo(Long.toString(array.events()));
    }

    /** A member stopped mid-rebuild carries md's RECOVERY_OFFSET feature and its recovery offset. */
    @Test
    void examineShowsRecoveryOffsetOfAMemberStoppedMidRebuild() throws Exception {
        Mdadm.assumeInstalled();
        List<BlockDevice> members = members(3, 4L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(16 * 1024).assumeClean(true)
                .rebuildBytesPerSecond(1L << 20).build(), members);
        array.failMember(2);
        BlockDevice replacement = Media.memory("new2", members.get(2).geometry());
        java.util.concurrent.CountDownLatch reached = new java.util.concurrent.CountDownLatch(1);
        array.replaceMember(2, replacement, new RebuildListener() {
            @Override
            public void onProgress(RebuildProgress progress) {
                if (progress.doneBytes() >= 20L * 16 * 1024) {
                    reached.countDown();
                }
            }
        });
        assertThat(reached.await(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        array.stop();
        Map<String, String> f = examine(replacement, "rebuilding.img");
        assertThat(f.get("Feature Map")).isEqualTo("0x3");
        assertThat(f.get("Recovery Offset")).matches("\\d+ sectors");
        assertThat(Long.parseLong(f.get("Recovery Offset").split(" ")[0])).isGreaterThanOrEqualTo(20L * 32);
        assertThat(f.get("Device Role")).isEqualTo("Active device 2");
        assertThat(f.get("State")).isEqualTo("clean");
        assertThat(f.get("Checksum")).endsWith("- correct");
    }
}
