package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.raid.internal.MdSuperblock;
import dev.scemu.raid.internal.MdSuperblockLayout;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Power cut at every write index of a small scenario (partial-stripe, full-stripe, FUA, boundary
 * spanning writes, trims of partial and of whole rows (passed down as member trims), flushes and
 * ranged flushes): after restoring power the members are assembled (which
 * resyncs the dirty bitmap regions), every block holds a value it may legally hold (everything
 * flushed or written with FUA reads back; unflushed blocks hold the old or the new contents), a
 * scrub finds zero mismatched stripes, and every superblock still decodes (and mdadm reads one).
 */
class CrashTest {

    private static final int CHUNK = 8 * 1024;
    private static final long MEMBER_BYTES = 1L << 20;

    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(RaidLevel.RAID5, 4, PowerCutMode.DROP_UNFLUSHED),
                Arguments.of(RaidLevel.RAID5, 4, PowerCutMode.KEEP_RANDOM_SUBSET),
                Arguments.of(RaidLevel.RAID5, 3, PowerCutMode.KEEP_RANDOM_SUBSET),
                Arguments.of(RaidLevel.RAID1, 2, PowerCutMode.KEEP_RANDOM_SUBSET),
                Arguments.of(RaidLevel.RAID0, 2, PowerCutMode.DROP_UNFLUSHED));
    }

    /** Blocks' legal contents: a list of candidates, collapsed to the last one when durable. */
    private static final class Model {
        final Map<Long, List<byte[]>> candidates = new HashMap<>();

        List<byte[]> of(long lba) {
            return candidates.computeIfAbsent(lba, l -> new ArrayList<>(List.of(new byte[TestArrays.BLOCK])));
        }

        void written(long lba, byte[] data, int blocks) {
            for (int i = 0; i < blocks; i++) {
                of(lba + i).add(Arrays.copyOfRange(data, i * TestArrays.BLOCK, (i + 1) * TestArrays.BLOCK));
            }
        }

        void durable(long lba, int blocks) {
            for (int i = 0; i < blocks; i++) {
                List<byte[]> list = of(lba + i);
                byte[] last = list.get(list.size() - 1);
                list.clear();
                list.add(last);
            }
        }

        void flushed() {
            for (List<byte[]> list : candidates.values()) {
                byte[] last = list.get(list.size() - 1);
                list.clear();
                list.add(last);
            }
        }
    }

    private record Op(char kind, long lba, int blocks, byte[] data) {
    }

    private static List<Op> scenario(long rowBlocks) {
        Random random = new Random(7);
        List<Op> ops = new ArrayList<>();
        ops.add(write(random, 'w', 5, 3));                         // partial stripe
        ops.add(write(random, 'w', rowBlocks * 2, (int) rowBlocks)); // full stripe
        ops.add(new Op('f', 0, 0, null));
        ops.add(write(random, 'u', 6, 1));                         // FUA over a written stripe
        ops.add(write(random, 'w', rowBlocks * 3 - 1, 2));         // spans a row boundary
        ops.add(new Op('f', 0, 0, null));
        ops.add(write(random, 'w', rowBlocks * 40 + 3, 11));       // other bitmap region, unaligned
        ops.add(new Op('t', rowBlocks * 2 + 1, 2, new byte[2 * TestArrays.BLOCK]));
        // partial row 39, whole rows 40 and 41 (member trims), partial row 42 (RAID-1: every mirror of
        // the regions; RAID-0: the chunks)
        ops.add(new Op('t', rowBlocks * 40 - 1, (int) (2 * rowBlocks + 2),
                new byte[(int) (2 * rowBlocks + 2) * TestArrays.BLOCK]));
        ops.add(new Op('f', 0, 0, null));
        ops.add(write(random, 'w', 4, 2));
        ops.add(write(random, 'u', rowBlocks * 40 + 5, 1));
        ops.add(write(random, 'w', 0, 1));
        // a ranged flush (a partition's flush) of rows 40-41 with writes inside and outside it: the
        // ones inside survive, the others may not, and the bitmap keeps the regions it did not flush
        ops.add(write(random, 'w', rowBlocks * 41 + 2, 3));
        ops.add(write(random, 'w', 9, 2));
        ops.add(new Op('r', rowBlocks * 40, (int) (2 * rowBlocks), null));
        ops.add(write(random, 'w', rowBlocks * 40 + 1, 1));
        ops.add(new Op('r', rowBlocks * 40 + 1, 1, null));       // one block: the row around it is flushed
        ops.add(new Op('t', rowBlocks * 2, (int) rowBlocks, new byte[(int) rowBlocks * TestArrays.BLOCK])); // unflushed whole row
        return ops;
    }

    private static Op write(Random random, char kind, long lba, int blocks) {
        byte[] data = new byte[blocks * TestArrays.BLOCK];
        random.nextBytes(data);
        return new Op(kind, lba, blocks, data);
    }

    private static void apply(RaidArray array, Op op, Model model) {
        switch (op.kind()) {
            case 'f' -> {
                array.flush();
                model.flushed();
            }
            case 'r' -> {
                array.flushRange(op.lba(), op.blocks());
                model.durable(op.lba(), op.blocks());
            }
            case 't' -> {
                model.written(op.lba(), op.data(), op.blocks());
                array.trim(op.lba(), op.blocks());
            }
            default -> {
                model.written(op.lba(), op.data(), op.blocks());
                boolean fua = op.kind() == 'u';
                array.write(op.lba(), op.blocks(), ByteBuffer.wrap(op.data()), 0, fua);
                if (fua) {
                    model.durable(op.lba(), op.blocks());
                }
            }
        }
    }

    private record Setup(PowerDomain domain, List<FaultInjectingDevice> members, RaidArray array, long firstWrite) {
    }

    private static Setup setup(RaidLevel level, int n, long seed) {
        PowerDomain domain = new PowerDomain(seed);
        List<FaultInjectingDevice> members = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            members.add(domain.attach(Media.memory("c" + i, BlockGeometry.ofBytes(TestArrays.BLOCK, MEMBER_BYTES))));
        }
        RaidArray array = RaidArray.create(RaidConfig.builder(level).chunkBytes(CHUNK).bitmapChunkBytes(64 * 1024)
                .assumeClean(true).build(), members);
        array.flush();
        return new Setup(domain, members, array, domain.writeCount());
    }

    @ParameterizedTest(name = "{0} of {1} members, {2}")
    @MethodSource("cases")
    void everyFlushedWriteSurvivesAPowerCutAtEveryWriteIndex(RaidLevel level, int n, PowerCutMode mode)
            throws Exception {
        long rowBlocks = level == RaidLevel.RAID1 ? CHUNK / TestArrays.BLOCK
                : (long) (CHUNK / TestArrays.BLOCK) * (level == RaidLevel.RAID5 ? n - 1 : n);
        List<Op> ops = scenario(rowBlocks);
        Setup dry = setup(level, n, 1);
        Model dryModel = new Model();
        for (Op op : ops) {
            apply(dry.array(), op, dryModel);
        }
        long writes = dry.domain().writeCount() - dry.firstWrite();
        dry.array().close();
        assertThat(writes).isGreaterThan(ops.size());
        int cuts = 0;
        int passed = 0;
        for (long k = 0; k < writes; k++) {
            Setup s = setup(level, n, 1000 + k);
            s.domain().armCutAtWrite(s.firstWrite() + k, mode);
            Model model = new Model();
            try {
                for (Op op : ops) {
                    apply(s.array(), op, model);
                }
            } catch (CoreException e) {
                assertThat(e.code()).as("cut at write %d", k).isEqualTo(CoreError.POWER_LOST);
                cuts++;
            }
            s.domain().restore();
            RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(s.members()));
            String what = level + " cut at write " + k + " of " + writes;
            verify(again, model, what);
            if (level != RaidLevel.RAID0) {
                assertThat(again.scrub(false).mismatchedStripes()).as(what + ": mismatched stripes").isZero();
            }
            again.stop();
            for (FaultInjectingDevice member : s.members()) {
                ByteBuffer sb = ByteBuffer.allocateDirect(4096);
                member.read(1, 1, sb, 0);
                byte[] bytes = new byte[4096];
                sb.get(0, bytes);
                MdSuperblock decoded = MdSuperblock.decode(bytes, member.name());
                assertThat(decoded.setUuid).isEqualTo(again.setUuid());
                // the resync ended every bitmap chunk's sync, so the clean stop says clean (md_bitmap_close_sync)
                assertThat(decoded.isClean()).as(what + ": " + member.name() + " clean after the stop").isTrue();
            }
            if (k == writes / 2 && Mdadm.executable() != null) {
                String out = Mdadm.run("--examine", Mdadm.dump(s.members().get(0), dir.resolve("crash.img")).toString());
                assertThat(Mdadm.fields(out).get("Checksum")).as(out).endsWith("- correct");
                assertThat(Mdadm.fields(out).get("State")).isEqualTo("clean");
            }
            again.close();
            passed++;
        }
        System.out.printf("CRASH POINTS: raid CrashTest[%s x%d %s] explored=%d passed=%d%n", level, n, mode, writes, passed);
        assertThat(cuts).isEqualTo((int) writes);
    }

    private static void verify(RaidArray array, Model model, String what) {
        ByteBuffer block = ByteBuffer.allocateDirect(TestArrays.BLOCK);
        byte[] actual = new byte[TestArrays.BLOCK];
        for (Map.Entry<Long, List<byte[]>> entry : model.candidates.entrySet()) {
            array.read(entry.getKey(), 1, block, 0);
            block.get(0, actual);
            boolean legal = entry.getValue().stream().anyMatch(c -> Arrays.equals(c, actual));
            assertThat(legal).as("%s: block %d holds one of its %d legal contents", what, entry.getKey(),
                    entry.getValue().size()).isTrue();
        }
    }

    /**
     * The write hole: with member 1 already failed, partial-stripe writes to the other members
     * are cut at every write index (torn). Assembly replays the parity journal, so the blocks of
     * the failed member, which were never written and exist only as parity, still reconstruct to
     * their old contents; without the journal a torn data/parity pair would corrupt them.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(PowerCutMode.class)
    void degradedRaid5WriteHoleIsClosedByTheParityJournal(PowerCutMode mode) throws Exception {
        int n = 4;
        int chunkBlocks = CHUNK / TestArrays.BLOCK;
        long rowBlocks = (long) chunkBlocks * (n - 1);
        Random random = new Random(11);
        byte[] initial = new byte[(int) (rowBlocks * 6 * TestArrays.BLOCK)];
        random.nextBytes(initial);
        List<Op> ops = new ArrayList<>();
        for (int row = 0; row < 6; row++) {
            // one block in a data chunk that is not on member 1, at varying offsets
            ops.add(write(random, row % 3 == 0 ? 'u' : 'w', row * rowBlocks + (row % 2 == 0 ? 1 : 2 * chunkBlocks), 1));
            if (row == 2) {
                ops.add(new Op('f', 0, 0, null));
            }
        }
        ops.add(write(random, 'w', 3 * rowBlocks, (int) rowBlocks));   // a full stripe, degraded
        ops.add(new Op('t', 4 * rowBlocks, (int) rowBlocks, new byte[(int) rowBlocks * TestArrays.BLOCK])); // degraded: zeros
        long total = 0;
        int passed = 0;
        for (long k = 0; ; k++) {
            Setup s = setup(RaidLevel.RAID5, n, 5000 + k);
            Model model = new Model();
            s.array().write(0, (int) (rowBlocks * 6), ByteBuffer.wrap(initial), 0);
            model.written(0, initial, (int) (rowBlocks * 6));
            s.array().flush();
            model.flushed();
            s.array().failMember(1);
            long base = s.domain().writeCount();
            if (k > 0) {
                s.domain().armCutAtWrite(base + k - 1, mode);
            }
            boolean cut = false;
            try {
                for (Op op : ops) {
                    apply(s.array(), op, model);
                }
            } catch (CoreException e) {
                assertThat(e.code()).isEqualTo(CoreError.POWER_LOST);
                cut = true;
            }
            if (k == 0) {
                total = s.domain().writeCount() - base;
                s.array().close();
                continue;
            }
            s.domain().restore();
            RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(s.members()));
            assertThat(again.memberState(1)).isEqualTo(MemberState.FAILED);
            verify(again, model, "degraded cut at write " + (k - 1) + " of " + total);
            again.close();
            assertThat(cut).isTrue();
            passed++;
            if (k >= total) {
                break;
            }
        }
        System.out.printf("CRASH POINTS: raid CrashTest[degraded write hole %s] explored=%d passed=%d%n", mode, total, passed);
        assertThat(total).isGreaterThan(ops.size());
    }

    /**
     * Power cut at every third write index of a rebuild (to keep the run short): the
     * restarted array resumes the rebuild from its last checkpoint, every block reads back, and
     * the scrub finds nothing.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(PowerCutMode.class)
    void powerCutDuringRebuildResumesFromTheCheckpoint(PowerCutMode mode) throws Exception {
        int n = 4;
        long dataBlocks = 0;
        byte[] initial = null;
        long total = -1;
        int explored = 0;
        int passed = 0;
        for (long k = 0; total < 0 || k < total; k += total < 0 ? 1 : 3) {
            Setup s = setup(RaidLevel.RAID5, n, 9000 + k);
            if (initial == null) {
                dataBlocks = s.array().blockCount();
                initial = new byte[(int) (dataBlocks * TestArrays.BLOCK)];
                new Random(13).nextBytes(initial);
            }
            s.array().write(0, (int) dataBlocks, ByteBuffer.wrap(initial), 0);
            s.array().flush();
            s.array().failMember(2);
            FaultInjectingDevice replacement = s.domain().attach(
                    Media.memory("new2", BlockGeometry.ofBytes(TestArrays.BLOCK, MEMBER_BYTES)));
            long base = s.domain().writeCount();
            long cutsBefore = s.domain().cutCount();
            if (total >= 0) {
                s.domain().armCutAtWrite(base + k, mode);
                explored++;
            }
            try {
                s.array().replaceMember(2, replacement, null).get(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | CoreException e) {
                assertThat(total).as("only an armed run may fail").isNotNegative();
            }
            if (total >= 0) {
                assertThat(s.domain().cutCount()).as("the cut armed at rebuild write %d of %d fired", k, total)
                        .isEqualTo(cutsBefore + 1);
                assertThat(s.domain().isPowered()).isFalse();
            }
            if (total < 0) {
                total = s.domain().writeCount() - base;
                s.array().close();
                k = -2; // next iteration: k = 0
                continue;
            }
            s.domain().restore();
            List<BlockDevice> members = new ArrayList<>(s.members());
            members.set(2, replacement);
            // a cut before the replacement's superblock is durable leaves it blank and absent (the
            // others still record role 2 faulty): the array starts degraded, without force
            RaidArray again = RaidArray.assemble(members);
            again.backgroundWork().get(60, java.util.concurrent.TimeUnit.SECONDS);
            String what = "rebuild cut at write " + k + " of " + total;
            ByteBuffer all = ByteBuffer.allocateDirect(initial.length);
            again.read(0, (int) dataBlocks, all, 0);
            assertThat(all.mismatch(ByteBuffer.wrap(initial))).as(what).isEqualTo(-1);
            if (!again.isDegraded()) {
                assertThat(again.scrub(false).mismatchedStripes()).as(what).isZero();
            }
            again.close();
            passed++;
        }
        System.out.printf("CRASH POINTS: raid CrashTest[rebuild %s] explored=%d passed=%d%n", mode, explored, passed);
        assertThat(total).isGreaterThan(10);
    }
    /**
     * Seeds 103241 and 114546 of the simulation: a power cut at every write index of the metadata
     * phase of {@code replaceMember} (and a little of the rebuild) on a dirty RAID-5. Whatever the
     * cut lets through, the array assembles with the replacement in place and without force, like
     * md: either the replacement never became durably part of the array (no superblock: it is
     * absent and the array starts degraded, the other members still record its role faulty) or it
     * is a member being rebuilt (superblock and bitmap both durable) whose rebuild resumes. Before
     * the replacement's own superblock was made durable first, the others could list it while it
     * had none (DIRTY_DEGRADED), or its superblock could survive without its bitmap
     * (NO_SUPERBLOCK "no md bitmap").
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(PowerCutMode.class)
    void aCutInsideReplaceMemberNeverStopsTheNextAssembly(PowerCutMode mode) throws Exception {
        int n = 4;
        int absent = 0;
        int resumed = 0;
        for (int k = 0; k < 24; k++) {
            Setup s = setup(RaidLevel.RAID5, n, 12000 + k);
            long dataBlocks = s.array().blockCount();
            byte[] initial = new byte[(int) (dataBlocks * TestArrays.BLOCK)];
            new Random(17).nextBytes(initial);
            s.array().write(0, (int) dataBlocks, ByteBuffer.wrap(initial), 0);
            s.array().flush();
            s.array().failMember(0); // role 0: the member a bitmap used to be read from first
            s.array().write(0, 1, ByteBuffer.wrap(initial), 0); // dirty, degraded (journaled)
            FaultInjectingDevice replacement = s.domain().attach(
                    Media.memory("new0", BlockGeometry.ofBytes(TestArrays.BLOCK, MEMBER_BYTES)));
            s.domain().armCutAtWrite(s.domain().writeCount() + k, mode);
            try {
                s.array().replaceMember(0, replacement, null).get(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | CoreException e) {
                // the cut fired (inside the metadata writes or the rebuild)
            }
            s.domain().restore();
            List<BlockDevice> members = new ArrayList<>(s.members());
            members.set(0, replacement);
            String what = mode + " cut at write " + k + " of replaceMember";
            RaidArray again = RaidArray.assemble(members);
            MemberState state = again.memberState(0);
            assertThat(state).as(what).isIn(MemberState.FAILED, MemberState.REBUILDING, MemberState.ACTIVE);
            if (state == MemberState.FAILED) {
                assertThat(again.memberFault(0)).as(what).contains("no md superblock");
                absent++;
            } else {
                resumed++;
            }
            again.backgroundWork().get(60, java.util.concurrent.TimeUnit.SECONDS);
            ByteBuffer all = ByteBuffer.allocateDirect(initial.length);
            again.read(0, (int) dataBlocks, all, 0);
            assertThat(all.mismatch(ByteBuffer.wrap(initial))).as(what).isEqualTo(-1);
            again.close();
        }
        assertThat(absent).as("cuts before the replacement was durably a member").isPositive();
        assertThat(resumed).as("cuts after it").isPositive();
    }

    /**
     * A member being rebuilt whose bitmap area is blank (md reads the bitmap only from in-sync
     * members, read_sb_page): the array still assembles, bitmap from an in-sync member, and the
     * rebuild resumes. Role 0 is the one a blank bitmap used to be read from.
     */
    @org.junit.jupiter.api.Test
    void aRebuildingMemberWithoutBitmapDoesNotStopAssembly() throws Exception {
        int checked = 0;
        for (int k = 0; k < 12; k++) {
            Setup s = setup(RaidLevel.RAID5, 4, 13000 + k);
            s.array().failMember(0);
            FaultInjectingDevice replacement = s.domain().attach(
                    Media.memory("new0", BlockGeometry.ofBytes(TestArrays.BLOCK, MEMBER_BYTES)));
            s.domain().armCutAtWrite(s.domain().writeCount() + k, PowerCutMode.DROP_UNFLUSHED);
            try {
                s.array().replaceMember(0, replacement, null).get(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | CoreException e) {
                // the cut fired
            }
            s.domain().restore();
            ByteBuffer sb = ByteBuffer.allocateDirect(TestArrays.BLOCK).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            replacement.read(MdSuperblockLayout.SUPER_OFFSET_BYTES / TestArrays.BLOCK, 1, sb, 0);
            if (sb.getInt(0) != MdSuperblockLayout.MAGIC) {
                continue; // the replacement has no superblock: nothing to check at this index
            }
            replacement.write(2, 1, ByteBuffer.allocateDirect(TestArrays.BLOCK), 0); // bitmap at byte 8192
            List<BlockDevice> members = new ArrayList<>(s.members());
            members.set(0, replacement);
            RaidArray again = RaidArray.assemble(members);
            if (again.memberState(0) == MemberState.REBUILDING) {
                checked++;
            }
            again.backgroundWork().get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(again.isDegraded()).as("cut at write %d: rebuilt", k).isFalse();
            again.close();
        }
        assertThat(checked).as("indexes where the replacement assembled as a rebuilding member").isPositive();
    }
}
