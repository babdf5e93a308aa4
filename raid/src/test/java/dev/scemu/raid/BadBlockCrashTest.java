package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CrashPointExplorer;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.raid.internal.MdSuperblock;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Recording a bad block is a two-step update (the bad-block log, flushed, then every superblock
 * with feature bit BAD_BLOCKS, as md_update_sb orders it). A power cut at every write index of a
 * write whose copy on one mirror fails: after restoring power the members assemble, every
 * superblock decodes, the written blocks read as their old or new contents (never anything else),
 * and once recorded a bad block stays recorded.
 */
class BadBlockCrashTest {

    private static final int BLOCK = TestArrays.BLOCK;
    private static final long MEMBER_BYTES = 1L << 20;
    private static final long LBA = 5;
    private static final int BLOCKS = 4;

    /** The members and the array assembled over them (with md bad-block logs added, as mdadm makes them). */
    record World(List<FaultInjectingDevice> members, RaidArray array, long badDeviceLba) implements AutoCloseable {
        @Override
        public void close() {
            array.stop();
            members.forEach(FaultInjectingDevice::close);
        }
    }

    private static World world(PowerDomain domain) {
        List<FaultInjectingDevice> members = TestArrays.domainMembers(domain, "bb", 2, MEMBER_BYTES);
        RaidArray created = RaidArray.create(RaidConfig.builder(RaidLevel.RAID1).bitmapChunkBytes(64 * 1024)
                .assumeClean(true).build(), members);
        ByteBuffer old = ByteBuffer.wrap(pattern(1));
        created.write(LBA, BLOCKS, old, 0);
        created.stop();
        for (FaultInjectingDevice m : members) {
            // mdadm's bad-block log: 8 sectors at superblock + 16 (after a 4 KiB bitmap), empty (0xff)
            ByteBuffer raw = ByteBuffer.allocateDirect(BLOCK);
            m.read(1, 1, raw, 0);
            byte[] bytes = new byte[BLOCK];
            raw.get(0, bytes);
            MdSuperblock sb = MdSuperblock.decode(bytes, m.name());
            sb.bblogOffsetSectors = 16;
            sb.bblogSize = 8;
            ByteBuffer log = ByteBuffer.allocateDirect(BLOCK);
            for (int i = 0; i < BLOCK; i++) {
                log.put(i, (byte) 0xff);
            }
            m.write(3, 1, log, 0);
            m.write(1, 1, ByteBuffer.allocateDirect(BLOCK).put(sb.encode()).clear(), 0);
            m.flush();
        }
        RaidArray array = RaidArray.assemble(new ArrayList<BlockDevice>(members));
        long badDeviceLba = array.dataOffsetSectors() / (BLOCK / 512) + LBA + 1;
        members.get(1).failWrites(new Extent(badDeviceLba, 1));
        return new World(members, array, badDeviceLba);
    }

    private static byte[] pattern(long seed) {
        byte[] b = new byte[BLOCKS * BLOCK];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void recordingABadBlockSurvivesAPowerCutAtEveryWriteIndex() throws Exception {
        byte[] old = pattern(1);
        byte[] updated = pattern(2);
        CrashPointExplorer.Report report = new CrashPointExplorer<World>(BadBlockCrashTest::world,
                w -> {
                    w.array().write(LBA, BLOCKS, ByteBuffer.wrap(updated), 0);
                    w.array().flush();
                    assertThat(w.array().memberState(1)).isEqualTo(MemberState.ACTIVE);
                },
                (w, crash) -> {
                    for (FaultInjectingDevice m : w.members()) {
                        m.clearMediumErrors();
                        ByteBuffer raw = ByteBuffer.allocateDirect(BLOCK);
                        m.read(1, 1, raw, 0);
                        byte[] bytes = new byte[BLOCK];
                        raw.get(0, bytes);
                        MdSuperblock.decode(bytes, m.name());
                    }
                    RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(w.members()));
                    try {
                        ByteBuffer back = ByteBuffer.allocateDirect(BLOCKS * BLOCK);
                        again.read(LBA, BLOCKS, back, 0);
                        byte[] got = new byte[BLOCKS * BLOCK];
                        back.get(0, got);
                        for (int i = 0; i < BLOCKS; i++) {
                            byte[] block = Arrays.copyOfRange(got, i * BLOCK, (i + 1) * BLOCK);
                            boolean legal = Arrays.equals(block, Arrays.copyOfRange(old, i * BLOCK, (i + 1) * BLOCK))
                                    || Arrays.equals(block, Arrays.copyOfRange(updated, i * BLOCK, (i + 1) * BLOCK));
                            assertThat(legal).as("%s: block %d is its old or new contents", crash, LBA + i).isTrue();
                        }
                    } finally {
                        again.stop(); // the world closes the members
                    }
                }).modes(PowerCutMode.DROP_UNFLUSHED, PowerCutMode.KEEP_RANDOM_SUBSET).explore();
        assertThat(report.pointsExplored()).isGreaterThan(3);
        System.out.printf("CRASH POINTS: raid BadBlockCrashTest explored=%d of %d writes, runs=%d%n",
                report.pointsExplored(), report.totalWrites(), report.runs());
    }

    /** Without a cut: the failed block is recorded on member 1 (feature bit set) and reads from member 0. */
    @Test
    void theFailedBlockIsRecordedAndReadFromTheOtherMirror() throws Exception {
        try (World w = world(new PowerDomain(5))) {
            byte[] updated = pattern(3);
            w.array().write(LBA, BLOCKS, ByteBuffer.wrap(updated), 0);
            w.array().flush();
            assertThat(w.array().memberState(1)).isEqualTo(MemberState.ACTIVE);
            w.array().stop();
            ByteBuffer raw = ByteBuffer.allocateDirect(BLOCK);
            w.members().get(1).read(1, 1, raw, 0);
            byte[] bytes = new byte[BLOCK];
            raw.get(0, bytes);
            assertThat(MdSuperblock.decode(bytes, "bb1").featureMap & 0x8).isEqualTo(0x8);
            ByteBuffer log = ByteBuffer.allocateDirect(BLOCK);
            w.members().get(1).read(3, 1, log, 0);
            long entry = log.order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertThat(entry >>> 10).isEqualTo(w.badDeviceLba() * 8);
            assertThat(entry & 0x3ff).isEqualTo(8);
            w.members().get(1).clearMediumErrors();
            try (RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(w.members()))) {
                ByteBuffer back = ByteBuffer.allocateDirect(BLOCKS * BLOCK);
                again.read(LBA, BLOCKS, back, 0);
                assertThat(back.mismatch(ByteBuffer.wrap(updated))).isEqualTo(-1);
            }
        }
    }
}
