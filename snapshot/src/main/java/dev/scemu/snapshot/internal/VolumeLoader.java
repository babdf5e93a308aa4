package dev.scemu.snapshot.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.IoCause;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotInfo;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import net.openhft.hashing.LongHashFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Formatting and opening a snapshot volume: superblock, checkpoint load, journal redo.
 *
 * <h2>Ordering rules</h2>
 * <ol>
 *   <li><b>Format:</b> checkpoint B (generation 0, empty), checkpoint A (generation 1), then the
 *       superblock with FUA: the superblock is the commit point, a store without it is not
 *       formatted.</li>
 *   <li><b>Open is read-only until every check passed:</b> superblock, both checkpoint headers,
 *       every page of the newest checkpoint (generation, page index, crc), the free map against
 *       the entries, every journal record. Only then is anything written (the recovery
 *       checkpoint). Corrupt metadata → {@code CORRUPT_METADATA}, nothing written.</li>
 *   <li><b>Redo:</b> only records of the loaded checkpoint's generation are applied (a record
 *       covered by a later checkpoint is never applied twice). A COW entry whose copy does not
 *       match its hash is dropped: its copy never became durable, so its overwrite never happened
 *       (rule 1 of {@link WritePath}).</li>
 *   <li>After the redo, a checkpoint commits the redone transactions; then
 *       {@link SnapshotVolumeImpl} finishes an interrupted rollback and deletes leftover
 *       temporary snapshots, before the volume is handed out.</li>
 * </ol>
 * Single-threaded: the volume is not visible to anyone else while it loads.
 */
final class VolumeLoader {

    private static final Logger LOG = LoggerFactory.getLogger(VolumeLoader.class);
    private static final LongHashFunction XX3 = LongHashFunction.xx3();

    private VolumeLoader() {
    }

    static SnapshotVolumeImpl format(BlockDevice data, BlockDevice store, SnapshotConfig config) {
        checkDevices(data, store);
        UUID volumeId = UUID.randomUUID();
        StoreLayout layout = StoreLayout.compute(data.blockSize(), data.blockCount(), store.blockCount(), config,
                volumeId.getMostSignificantBits(), volumeId.getLeastSignificantBits(), System.currentTimeMillis());
        MappingJournal journal = SnapshotVolumeImpl.journalFactory.format(store, layout.log());
        SnapshotVolumeImpl volume = new SnapshotVolumeImpl(data, store, layout, journal);
        VolumeState s = volume.state();
        try {
            // Ordering: checkpoint B (generation 0, empty), checkpoint A (generation 1), then the superblock.
            Checkpoint.writeEmpty(store, layout, 1, 0, s.meter);
            s.generation = 0;
            s.activeRegion = 1;
            volume.writes().checkpoint();
            ByteBuffer block = ByteBuffer.allocateDirect(layout.blockSize());
            layout.encode(block, VolumeIntents.NONE);
            store.write(0, 1, block, 0, true);
            s.meter.issuedWrite(IoCause.METADATA, layout.blockSize());
            return volume;
        } catch (RuntimeException e) {
            s.releaseMemory();
            throw e;
        }
    }

    static SnapshotVolumeImpl open(BlockDevice data, BlockDevice store) {
        checkDevices(data, store);
        ByteBuffer block = ByteBuffer.allocateDirect(store.blockSize());
        RedundantReads reads = new RedundantReads(store);
        reads.read(0, block, b -> StoreLayout.decode(b, store.blockSize(), store.blockCount()));
        StoreLayout layout = StoreLayout.decode(block, store.blockSize(), store.blockCount());
        VolumeIntents intents = VolumeIntents.decode(block);
        if (layout.dataBlockCount() != data.blockCount()) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION, "store was formatted for a data device of "
                    + layout.dataBlockCount() + " blocks, this one has " + data.blockCount());
        }
        // Read-only until every check passed: headers, pages, journal records.
        long generationA = Checkpoint.headerGeneration(store, layout, 0, block, reads);
        long generationB = Checkpoint.headerGeneration(store, layout, 1, block, reads);
        int region = generationA >= generationB ? 0 : 1;
        MappingJournal journal;
        try {
            journal = SnapshotVolumeImpl.journalFactory.open(store, layout.log());
        } catch (CoreException e) {
            // INVALID_ARGUMENT: a log header whose geometry differs from the region the superblock gives it;
            // LOG_CORRUPTED: a damaged log block with durable blocks after it (not a torn tail)
            if (e.code() == CoreError.CORRUPT_RECORD || e.code() == CoreError.INVALID_ARGUMENT
                    || e.code() == CoreError.LOG_CORRUPTED) {
                throw new SnapshotException(SnapshotError.CORRUPT_METADATA, "execution log: " + e.getMessage(), e);
            }
            throw e;
        }
        SnapshotVolumeImpl volume = new SnapshotVolumeImpl(data, store, layout, journal);
        volume.setIntents(intents);
        try {
            load(volume, region, reads);
            reads.repair(); // every check passed: blocks a redundant copy supplied are rewritten
            volume.finishInterruptedWork();
            return volume;
        } catch (RuntimeException e) {
            volume.state().releaseMemory();
            throw e;
        }
    }

    private static void checkDevices(BlockDevice data, BlockDevice store) {
        if (data.blockSize() != store.blockSize()) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION, "data block size " + data.blockSize()
                    + " != store block size " + store.blockSize());
        }
        if (data.blockCount() < 1 || data.blockCount() > 0xFFFF_FFFF_FFFFL) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION, "data device of " + data.blockCount() + " blocks");
        }
    }

    /** Loads checkpoint {@code region}, then redoes the journal transactions written after it. */
    private static void load(SnapshotVolumeImpl volume, int region, RedundantReads reads) {
        VolumeState s = volume.state();
        StoreLayout layout = s.layout;
        Checkpoint.State state = Checkpoint.read(s.store, layout, region, s.index, s.freeMap, s.meter, reads);
        s.generation = state.generation();
        s.activeRegion = region;
        s.writeEpoch = state.writeEpoch();
        s.nextSnapshotId = state.nextSnapshotId();
        s.rollbackTarget = state.rollbackSnapshotId();
        for (SnapshotInfo info : state.snapshots()) {
            if (info.epoch() >= s.writeEpoch || s.snapshots.put(info.id(), info) != null || info.id() >= s.nextSnapshotId) {
                throw PageSeal.corrupt("checkpoint snapshot " + info + " is inconsistent with write epoch " + s.writeEpoch);
            }
        }
        s.refreshLiveEpochs();
        List<MappingJournal.JournalTx> unfinished = s.journal.unfinished();
        int redone = 0;
        int dropped = 0;
        ByteBuffer block = ByteBuffer.allocateDirect(s.blockSize);
        for (MappingJournal.JournalTx tx : unfinished) {
            ByteBuffer p = tx.payload();
            if (p.remaining() < 16) {
                throw JournalRecords.corrupt(tx.id(), "is too short (" + p.remaining() + " bytes)");
            }
            long base = JournalRecords.baseGeneration(p);
            if (base > s.generation) {
                throw JournalRecords.corrupt(tx.id(), "builds on checkpoint generation " + base + " > " + s.generation);
            }
            if (tx.opType() == JournalRecords.OP_COW_BATCH) {
                int count = JournalRecords.checkCow(p, tx.id());
                if (base != s.generation) {
                    continue;
                }
                for (int i = 0; i < count; i++) {
                    long lba = JournalRecords.cowLba(p, i);
                    long storeBlock = JournalRecords.cowStoreBlock(p, i);
                    long from = JournalRecords.cowFromEpoch(p, i);
                    long to = JournalRecords.cowToEpoch(p, i);
                    if (lba < 0 || lba >= layout.dataBlockCount() || storeBlock < MappingIndex.ZERO_BLOCK
                            || storeBlock >= layout.pool().blockCount() || from > to) {
                        throw JournalRecords.corrupt(tx.id(), "entry " + i + " (lba " + lba + ", store block "
                                + storeBlock + ", epochs [" + from + ", " + to + "]) is out of range");
                    }
                    if (storeBlock != MappingIndex.ZERO_BLOCK) {
                        s.store.read(layout.pool().lba() + storeBlock, 1, block, 0);
                        s.meter.issuedRead(IoCause.COW_COPY, s.blockSize);
                        if (XX3.hashBytes(block, 0, s.blockSize) != JournalRecords.cowHash(p, i)) {
                            dropped++;
                            continue; // the copy never became durable, so the overwrite never happened
                        }
                        s.freeMap.markUsed(storeBlock);
                    }
                    s.index.insertNewest(lba, from, to, storeBlock);
                    s.writeEpoch = Math.max(s.writeEpoch, to + 1);
                    redone++;
                }
            } else if (tx.opType() == JournalRecords.OP_SNAPSHOT) {
                JournalRecords.SnapshotRecord record = JournalRecords.decodeSnapshot(p, tx.id());
                if (base != s.generation) {
                    continue;
                }
                if (record.epoch() < s.writeEpoch || s.snapshots.containsKey(record.id()) || record.id() < s.nextSnapshotId) {
                    throw JournalRecords.corrupt(tx.id(), "snapshot " + record + " conflicts with write epoch " + s.writeEpoch);
                }
                s.snapshots.put(record.id(), new SnapshotInfo(record.id(), record.name(),
                        Instant.ofEpochMilli(record.createdAtMillis()), record.epoch()));
                s.writeEpoch = record.epoch() + 1;
                s.nextSnapshotId = record.id() + 1;
                redone++;
            } else if (tx.opType() == JournalRecords.OP_ROLLBACK) {
                JournalRecords.RollbackRecord record = JournalRecords.decodeRollback(p, tx.id());
                if (base != s.generation) {
                    continue; // a later checkpoint says whether the rollback was still running
                }
                SnapshotInfo target = s.snapshots.get(record.snapshotId());
                if (target == null || target.epoch() != record.epoch()) {
                    throw JournalRecords.corrupt(tx.id(), "rolls back to snapshot " + record.snapshotId() + " epoch "
                            + record.epoch() + ", which does not exist (snapshots " + s.snapshots.values() + ")");
                }
                s.rollbackTarget = record.snapshotId();
                redone++;
            } else {
                throw JournalRecords.corrupt(tx.id(), "has unknown operation type " + tx.opType());
            }
        }
        s.refreshLiveEpochs();
        if (!unfinished.isEmpty()) {
            LOG.info("{}: recovered {} journal transactions ({} items redone, {} uncopied entries dropped)",
                    s.name, unfinished.size(), redone, dropped);
            for (MappingJournal.JournalTx tx : unfinished) {
                s.openTransactions.add(tx.id());
            }
            volume.writes().checkpoint();
        }
    }
}
