package dev.scemu.snapshot.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.core.ChecksummedRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes and reads mapping-table checkpoints: the whole mapping state (snapshot table, every
 * mapping entry, the copy-pool free map) in one of two alternating store regions.
 *
 * <pre>
 * region: | page 0: header | snapshot pages | entry pages | free map pages | (unused) |
 *
 * every page = one block, little-endian:
 * 0   ChecksummedRecord header (magic per kind, version 1, length = blockSize: crc over the whole block)
 * 16  u64 generation (must equal the header page's)
 * 24  u32 page index within the region
 * 28  u32 item count
 * 32  items
 *
 * header page  magic "SNCH"
 * 32  u64 writeEpoch          40  u64 nextSnapshotId
 * 48  u32 snapshotCount       52  u32 snapshotPages
 * 56  u64 entryCount          64  u32 entryPages      68  u32 freeMapPages
 * 72  u64 usedPoolBlocks      80  u64 volumeIdHigh    88  u64 volumeIdLow
 * 96  u64 rollbackSnapshotId  (0 = none; else a rollback to this snapshot was in progress when
 *                              the checkpoint was written: the next open finishes it. Zero in
 *                              checkpoints of earlier writers, which had no such field.)
 *
 * snapshot page  magic "SNSP", items of 96 bytes:
 *     0 u64 id   8 u64 epoch   16 u64 createdAtMillis   24 u16 nameLength   26 name (<= 64 bytes UTF-8), zero padded
 * entry page     magic "SNME", items of 24 bytes:
 *     0 u64 lba   8 i64 storeBlock (-1 = zero block)   16 u32 fromEpoch   20 u32 toEpoch
 * free map page  magic "SNFM", items = u64 words of the pool bitmap (bit set = used),
 *     word w of page p covers pool blocks [(p * wordsPerPage + w) * 64, +64), bit i = block +i
 * </pre>
 *
 * <p>Ordering: every page except the header is written first, then the store is flushed, then the
 * header page is written with FUA. A checkpoint exists once its header is durable; the other
 * region keeps the previous checkpoint intact until then. The newest valid header wins at open;
 * every page must carry its generation, so a half-overwritten older region is never mixed in.
 */
final class Checkpoint {

    static final int HEADER_MAGIC = ChecksummedRecord.magic("SNCH");
    static final int SNAPSHOT_MAGIC = ChecksummedRecord.magic("SNSP");
    static final int ENTRY_MAGIC = ChecksummedRecord.magic("SNME");
    static final int FREE_MAP_MAGIC = ChecksummedRecord.magic("SNFM");
    static final int VERSION = 1;
    private static final int RUN_BLOCKS = 64;

    /** State of a checkpoint other than the entries and free map. */
    record State(long generation, long writeEpoch, long nextSnapshotId, List<SnapshotInfo> snapshots,
                 long rollbackSnapshotId) {
    }

    private Checkpoint() {
    }

    /** Writes an empty header of {@code generation} (used at format for the second region). */
    static void writeEmpty(BlockDevice store, StoreLayout layout, int region, long generation, IoMeter meter) {
        ByteBuffer page = ByteBuffer.allocateDirect(layout.blockSize()).order(ByteOrder.LITTLE_ENDIAN);
        putHeader(page, layout, generation, 0, 0, 0, 0, 0, 0, 0);
        store.write(layout.checkpointLba(region), 1, page, 0, true);
        meter.issuedWrite(IoCause.METADATA, layout.blockSize());
    }

    /** Writes a full checkpoint into {@code region}; durable when this returns. */
    static void write(BlockDevice store, StoreLayout layout, int region, State state, MappingIndex index,
                      StoreFreeMap freeMap, IoMeter meter) {
        int bs = layout.blockSize();
        PageRun run = new PageRun(store, layout.checkpointLba(region) + 1, bs, meter);
        long generation = state.generation();
        // snapshot pages
        int perPage = StoreLayout.snapshotsPerPage(bs);
        List<SnapshotInfo> snapshots = state.snapshots();
        int snapshotPages = (snapshots.size() + perPage - 1) / perPage;
        for (int p = 0; p < snapshotPages; p++) {
            ByteBuffer page = run.page();
            int count = Math.min(perPage, snapshots.size() - p * perPage);
            for (int i = 0; i < count; i++) {
                SnapshotInfo info = snapshots.get(p * perPage + i);
                int at = StoreLayout.PAGE_HEADER_BYTES + i * StoreLayout.SNAPSHOT_RECORD_BYTES;
                byte[] name = info.name().getBytes(StandardCharsets.UTF_8);
                page.putLong(at, info.id());
                page.putLong(at + 8, info.epoch());
                page.putLong(at + 16, info.createdAt().toEpochMilli());
                page.putShort(at + 24, (short) name.length);
                page.put(at + 26, name);
            }
            run.seal(SNAPSHOT_MAGIC, generation, count);
        }
        // entry pages
        int entriesPerPage = StoreLayout.entriesPerPage(bs);
        long[] written = {0};
        int[] inPage = {0};
        index.forEachEntry(e -> {
            ByteBuffer page = run.page();
            int at = StoreLayout.PAGE_HEADER_BYTES + inPage[0] * StoreLayout.ENTRY_RECORD_BYTES;
            page.putLong(at, index.lba(e));
            page.putLong(at + 8, index.storeBlock(e));
            page.putInt(at + 16, (int) index.fromEpoch(e));
            page.putInt(at + 20, (int) index.toEpoch(e));
            written[0]++;
            if (++inPage[0] == entriesPerPage) {
                run.seal(ENTRY_MAGIC, generation, entriesPerPage);
                inPage[0] = 0;
            }
        });
        if (inPage[0] > 0) {
            run.page();
            run.seal(ENTRY_MAGIC, generation, inPage[0]);
        }
        int entryPages = (int) ((written[0] + entriesPerPage - 1) / entriesPerPage);
        // free map pages
        int wordsPerPage = (int) (StoreLayout.freeMapBitsPerPage(bs) / 64);
        long words = freeMap.wordCount();
        int freeMapPages = (int) ((words + wordsPerPage - 1) / wordsPerPage);
        for (int p = 0; p < freeMapPages; p++) {
            ByteBuffer page = run.page();
            int count = (int) Math.min(wordsPerPage, words - (long) p * wordsPerPage);
            for (int w = 0; w < count; w++) {
                page.putLong(StoreLayout.PAGE_HEADER_BYTES + w * 8, freeMap.word((long) p * wordsPerPage + w));
            }
            run.seal(FREE_MAP_MAGIC, generation, count);
        }
        run.finish();
        store.flush();
        ByteBuffer header = ByteBuffer.allocateDirect(bs).order(ByteOrder.LITTLE_ENDIAN);
        putHeader(header, layout, generation, state.writeEpoch(), state.nextSnapshotId(), snapshots.size(),
                snapshotPages, written[0], entryPages, freeMapPages);
        header.putLong(72, freeMap.usedCount());
        header.putLong(96, state.rollbackSnapshotId());
        PageSeal.seal(header, 0, HEADER_MAGIC, VERSION, bs);
        store.write(layout.checkpointLba(region), 1, header, 0, true);
        meter.issuedWrite(IoCause.METADATA, bs);
    }

    private static void putHeader(ByteBuffer page, StoreLayout layout, long generation, long writeEpoch,
                                  long nextSnapshotId, int snapshotCount, int snapshotPages, long entryCount,
                                  int entryPages, int freeMapPages) {
        page.putLong(16, generation);
        page.putInt(24, 0);
        page.putInt(28, 0);
        page.putLong(32, writeEpoch);
        page.putLong(40, nextSnapshotId);
        page.putInt(48, snapshotCount);
        page.putInt(52, snapshotPages);
        page.putLong(56, entryCount);
        page.putInt(64, entryPages);
        page.putInt(68, freeMapPages);
        page.putLong(72, 0);
        page.putLong(80, layout.volumeIdHigh());
        page.putLong(88, layout.volumeIdLow());
        PageSeal.seal(page, 0, HEADER_MAGIC, VERSION, layout.blockSize());
    }

    /** Generation of region {@code region}'s header; throws CORRUPT_METADATA if it does not verify. */
    static long headerGeneration(BlockDevice store, StoreLayout layout, int region, ByteBuffer target,
                                 RedundantReads reads) {
        reads.read(layout.checkpointLba(region), target, block -> {
            ByteBuffer page = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            PageSeal.verify(page, 0, HEADER_MAGIC, VERSION, layout.blockSize(), "checkpoint " + (char) ('A' + region)
                    + " header");
            if (page.getLong(80) != layout.volumeIdHigh() || page.getLong(88) != layout.volumeIdLow()) {
                throw PageSeal.corrupt("checkpoint " + (char) ('A' + region) + " header belongs to another volume");
            }
        });
        return target.duplicate().order(ByteOrder.LITTLE_ENDIAN).getLong(16);
    }

    /** Loads region {@code region} into {@code index} and {@code freeMap} (both empty); checks every page. */
    static State read(BlockDevice store, StoreLayout layout, int region, MappingIndex index, StoreFreeMap freeMap,
                      IoMeter meter, RedundantReads reads) {
        int bs = layout.blockSize();
        ByteBuffer header = ByteBuffer.allocateDirect(bs).order(ByteOrder.LITTLE_ENDIAN);
        long generation = headerGeneration(store, layout, region, header, reads);
        header = header.order(ByteOrder.LITTLE_ENDIAN);
        String what = "checkpoint " + (char) ('A' + region) + " generation " + generation;
        long writeEpoch = header.getLong(32);
        long nextSnapshotId = header.getLong(40);
        int snapshotCount = header.getInt(48);
        int snapshotPages = header.getInt(52);
        long entryCount = header.getLong(56);
        int entryPages = header.getInt(64);
        int freeMapPages = header.getInt(68);
        long usedPool = header.getLong(72);
        long rollbackSnapshotId = header.getLong(96);
        int snapsPerPage = StoreLayout.snapshotsPerPage(bs);
        int entriesPerPage = StoreLayout.entriesPerPage(bs);
        int wordsPerPage = (int) (StoreLayout.freeMapBitsPerPage(bs) / 64);
        long expectedFreeMapPages = (freeMap.wordCount() + wordsPerPage - 1) / wordsPerPage;
        if (snapshotCount < 0 || snapshotCount > layout.maxSnapshots()
                || snapshotPages != (snapshotCount + snapsPerPage - 1) / snapsPerPage
                || entryCount < 0 || entryCount > layout.maxMappingEntries()
                || entryPages != (entryCount + entriesPerPage - 1) / entriesPerPage
                || (generation > 0 && freeMapPages != expectedFreeMapPages)
                || 1L + snapshotPages + entryPages + freeMapPages > layout.checkpointBlocks()) {
            throw PageSeal.corrupt(what + ": header counts are inconsistent (snapshots " + snapshotCount + "/" + snapshotPages
                    + " pages, entries " + entryCount + "/" + entryPages + " pages, free map " + freeMapPages + " pages)");
        }
        PageReader pages = new PageReader(store, layout.checkpointLba(region) + 1, bs, meter, generation, what, reads);
        List<SnapshotInfo> snapshots = new ArrayList<>();
        for (int p = 0; p < snapshotPages; p++) {
            ByteBuffer page = pages.next(SNAPSHOT_MAGIC, StoreLayout.SNAPSHOT_RECORD_BYTES);
            int count = page.getInt(28);
            for (int i = 0; i < count; i++) {
                int at = StoreLayout.PAGE_HEADER_BYTES + i * StoreLayout.SNAPSHOT_RECORD_BYTES;
                int nameLength = page.getShort(at + 24) & 0xFFFF;
                if (nameLength > 64) {
                    throw PageSeal.corrupt(what + ": snapshot name length " + nameLength);
                }
                byte[] name = new byte[nameLength];
                page.get(at + 26, name);
                snapshots.add(new SnapshotInfo(page.getLong(at), new String(name, StandardCharsets.UTF_8),
                        Instant.ofEpochMilli(page.getLong(at + 16)), page.getLong(at + 8)));
            }
        }
        if (snapshots.size() != snapshotCount) {
            throw PageSeal.corrupt(what + ": " + snapshots.size() + " snapshots in pages, header says " + snapshotCount);
        }
        long entriesRead = 0;
        for (int p = 0; p < entryPages; p++) {
            ByteBuffer page = pages.next(ENTRY_MAGIC, StoreLayout.ENTRY_RECORD_BYTES);
            int count = page.getInt(28);
            for (int i = 0; i < count; i++) {
                int at = StoreLayout.PAGE_HEADER_BYTES + i * StoreLayout.ENTRY_RECORD_BYTES;
                long lba = page.getLong(at);
                long storeBlock = page.getLong(at + 8);
                long from = page.getInt(at + 16) & 0xFFFF_FFFFL;
                long to = page.getInt(at + 20) & 0xFFFF_FFFFL;
                if (lba < 0 || lba >= layout.dataBlockCount() || storeBlock < MappingIndex.ZERO_BLOCK
                        || storeBlock >= layout.pool().blockCount() || to >= writeEpoch) {
                    throw PageSeal.corrupt(what + ": entry lba " + lba + " storeBlock " + storeBlock + " epochs ["
                            + from + ", " + to + "] is out of range");
                }
                index.insertSorted(lba, from, to, storeBlock);
                if (storeBlock != MappingIndex.ZERO_BLOCK) {
                    freeMap.markUsed(storeBlock);
                }
                entriesRead++;
            }
        }
        if (entriesRead != entryCount) {
            throw PageSeal.corrupt(what + ": " + entriesRead + " entries in pages, header says " + entryCount);
        }
        if (generation > 0) {
            for (int p = 0; p < freeMapPages; p++) {
                ByteBuffer page = pages.next(FREE_MAP_MAGIC, 8);
                int count = page.getInt(28);
                for (int w = 0; w < count; w++) {
                    long wordIndex = (long) p * wordsPerPage + w;
                    long stored = page.getLong(StoreLayout.PAGE_HEADER_BYTES + w * 8);
                    if (wordIndex >= freeMap.wordCount() || stored != freeMap.word(wordIndex)) {
                        throw PageSeal.corrupt(what + ": free map word " + wordIndex + " disagrees with the mapping entries");
                    }
                }
            }
            if (usedPool != freeMap.usedCount()) {
                throw PageSeal.corrupt(what + ": " + usedPool + " used pool blocks in header, entries use " + freeMap.usedCount());
            }
        }
        if (rollbackSnapshotId != 0 && snapshots.stream().noneMatch(s -> s.id() == rollbackSnapshotId)) {
            throw PageSeal.corrupt(what + ": a rollback to snapshot " + rollbackSnapshotId + " is in progress but no such snapshot exists");
        }
        return new State(generation, writeEpoch, nextSnapshotId, List.copyOf(snapshots), rollbackSnapshotId);
    }

    /** Buffers consecutive pages and writes them in runs. */
    private static final class PageRun {
        private final BlockDevice store;
        private final int blockSize;
        private final IoMeter meter;
        private final ByteBuffer buffer;
        private long nextLba;
        private int pageIndex = 1;
        private int filled;
        private ByteBuffer current;

        PageRun(BlockDevice store, long firstLba, int blockSize, IoMeter meter) {
            this.store = store;
            this.blockSize = blockSize;
            this.meter = meter;
            this.nextLba = firstLba;
            this.buffer = ByteBuffer.allocateDirect(RUN_BLOCKS * blockSize);
        }

        /** The page being filled (a zeroed block view), opened if none is open. */
        ByteBuffer page() {
            if (current == null) {
                if (filled == RUN_BLOCKS) {
                    finish();
                }
                current = buffer.slice(filled * blockSize, blockSize).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < blockSize; i += 8) {
                    current.putLong(i, 0);
                }
            }
            return current;
        }

        void seal(int magic, long generation, int itemCount) {
            current.putLong(16, generation);
            current.putInt(24, pageIndex++);
            current.putInt(28, itemCount);
            PageSeal.seal(current, 0, magic, VERSION, blockSize);
            current = null;
            filled++;
        }

        void finish() {
            if (filled > 0) {
                store.write(nextLba, filled, buffer, 0);
                meter.issuedWrite(IoCause.METADATA, (long) filled * blockSize);
                nextLba += filled;
                filled = 0;
            }
        }
    }

    /** Reads consecutive pages in runs and verifies each. */
    private static final class PageReader {
        private final BlockDevice store;
        private final int blockSize;
        private final IoMeter meter;
        private final long generation;
        private final String what;
        private final ByteBuffer buffer;
        private final RedundantReads reads;
        private long nextLba;
        private int pageIndex = 1;
        private int available;
        private int consumed;

        PageReader(BlockDevice store, long firstLba, int blockSize, IoMeter meter, long generation, String what,
                   RedundantReads reads) {
            this.reads = reads;
            this.store = store;
            this.blockSize = blockSize;
            this.meter = meter;
            this.generation = generation;
            this.what = what;
            this.nextLba = firstLba;
            this.buffer = ByteBuffer.allocateDirect(RUN_BLOCKS * blockSize);
        }

        ByteBuffer next(int magic, int itemBytes) {
            if (consumed == available) {
                int blocks = (int) Math.min(RUN_BLOCKS, store.blockCount() - nextLba);
                store.read(nextLba, blocks, buffer, 0);
                meter.issuedRead(IoCause.METADATA, (long) blocks * blockSize);
                nextLba += blocks;
                available = blocks;
                consumed = 0;
            }
            long pageLba = nextLba - available + consumed;
            ByteBuffer page = buffer.slice(consumed++ * blockSize, blockSize).order(ByteOrder.LITTLE_ENDIAN);
            String pageWhat = what + " page " + pageIndex;
            reads.check(pageLba, page, p -> {
                PageSeal.verify(p, 0, magic, VERSION, blockSize, pageWhat);
                if (p.getLong(16) != generation || p.getInt(24) != pageIndex) {
                    throw PageSeal.corrupt(pageWhat + ": carries generation " + p.getLong(16) + " page " + p.getInt(24));
                }
                int count = p.getInt(28);
                if (count < 0 || StoreLayout.PAGE_HEADER_BYTES + (long) count * itemBytes > blockSize) {
                    throw PageSeal.corrupt(pageWhat + ": " + count + " items do not fit a block of " + blockSize + " bytes");
                }
            });
            pageIndex++;
            return page;
        }
    }
}
