package dev.scemu.flash.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.UpdateJournal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * A tiny {@link UpdateJournal}: the whole state (every unfinished transaction with its steps) is
 * one record, rewritten at each {@link #sync()} into block {@code generation mod 2} of a 2-block
 * extent; open takes the valid record with the highest generation. Enough for firmware updates
 * (one transaction of a few dozen small steps at a time); the control unit replaces it with an
 * adapter over controller-core's {@code ExecutionLog}.
 *
 * <pre>
 *  record (one block, little-endian)
 *   0        4        6        8              16            24        26
 *   +--------+--------+--------+--------------+-------------+---------+-----------------+-- ... --+--------+
 *   | magic  | version| reserve| generation   | nextTxId    | txCount | transactions... |  0 ...  | crc32c |
 *   | "SCUJ" | u16 =1 | u16 =0 | u64          | u64         | u16     |                 |         | (last 4|
 *   +--------+--------+--------+--------------+-------------+---------+-----------------+-- ... --+ bytes) +
 *  transaction: txId u64, opType u16, payloadLength u16, payload, stepCount u16,
 *               stepCount x ( stepIndex u16, payloadLength u16, payload )
 * </pre>
 *
 * <p>Ordering: records are durable after {@link #sync()} (block write, then device flush); the
 * other block keeps the previous durable state, so a cut during sync leaves old or new state.
 */
public final class BlockUpdateJournal implements UpdateJournal {

    static final int MAGIC = 0x4A554353; // "SCUJ"
    private static final int HEADER_BYTES = 26;

    private final BlockDevice device;
    private final Extent extent;
    private final Map<Long, MutableEntry> active = new LinkedHashMap<>();
    private long generation;
    private long nextTxId = 1;
    private boolean dirty;

    private BlockUpdateJournal(BlockDevice device, Extent extent) {
        this.device = device;
        this.extent = extent;
    }

    public static BlockUpdateJournal open(BlockDevice device, Extent extent) {
        device.geometry().checkRange(extent.lba(), extent.blockCount());
        if (extent.blockCount() < 2) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "journal extent " + extent + " needs 2 blocks");
        }
        BlockUpdateJournal journal = new BlockUpdateJournal(device, extent);
        journal.load();
        return journal;
    }

    private void load() {
        int blockSize = device.blockSize();
        ByteBuffer best = null;
        long bestGeneration = -1;
        for (int slot = 0; slot < 2; slot++) {
            ByteBuffer block = ByteBuffer.allocate(blockSize).order(ByteOrder.LITTLE_ENDIAN);
            device.read(extent.lba() + slot, 1, block, 0);
            if (block.getInt(0) != MAGIC || block.getInt(blockSize - 4) != crc(block)) {
                continue;
            }
            long gen = block.getLong(8);
            if (gen > bestGeneration && gen % 2 == slot) {
                bestGeneration = gen;
                best = block;
            }
        }
        if (best == null) {
            return;
        }
        generation = bestGeneration;
        nextTxId = best.getLong(16);
        int count = best.getShort(24) & 0xFFFF;
        best.position(HEADER_BYTES);
        for (int i = 0; i < count; i++) {
            long txId = best.getLong();
            int opType = best.getShort() & 0xFFFF;
            MutableEntry entry = new MutableEntry(txId, opType, readBytes(best));
            int steps = best.getShort() & 0xFFFF;
            for (int s = 0; s < steps; s++) {
                int stepIndex = best.getShort() & 0xFFFF;
                entry.steps.add(new Step(stepIndex, ByteBuffer.wrap(readBytes(best))));
            }
            active.put(txId, entry);
        }
    }

    private static byte[] readBytes(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.getShort() & 0xFFFF];
        buffer.get(bytes);
        return bytes;
    }

    @Override
    public synchronized long begin(int opType, ByteBuffer payload) {
        long txId = nextTxId++;
        active.put(txId, new MutableEntry(txId, opType, copy(payload)));
        dirty = true;
        return txId;
    }

    @Override
    public synchronized void step(long txId, int stepIndex, ByteBuffer payload) {
        entry(txId).steps.add(new Step(stepIndex, ByteBuffer.wrap(copy(payload))));
        dirty = true;
    }

    @Override
    public synchronized void commit(long txId) {
        entry(txId);
        active.remove(txId);
        dirty = true;
    }

    @Override
    public synchronized void abort(long txId) {
        commit(txId);
    }

    @Override
    public synchronized void sync() {
        if (dirty) {
            int blockSize = device.blockSize();
            ByteBuffer block = ByteBuffer.allocate(blockSize).order(ByteOrder.LITTLE_ENDIAN);
            long gen = generation + 1;
            block.putInt(MAGIC).putShort((short) 1).putShort((short) 0).putLong(gen).putLong(nextTxId)
                    .putShort((short) active.size());
            try {
                for (MutableEntry entry : active.values()) {
                    block.putLong(entry.txId).putShort((short) entry.opType);
                    putBytes(block, entry.payload);
                    block.putShort((short) entry.steps.size());
                    for (Step step : entry.steps) {
                        block.putShort((short) step.stepIndex());
                        byte[] bytes = new byte[step.payload().remaining()];
                        step.payload().duplicate().get(bytes);
                        putBytes(block, bytes);
                    }
                }
                if (block.position() > blockSize - 4) {
                    throw new java.nio.BufferOverflowException();
                }
            } catch (java.nio.BufferOverflowException e) {
                throw new FlashException(FlashError.JOURNAL_ERROR, "update journal state of " + active.size()
                        + " transactions does not fit one block of " + blockSize + " bytes");
            }
            block.putInt(blockSize - 4, crc(block));
            device.write(extent.lba() + gen % 2, 1, block, 0);
            generation = gen;
            dirty = false;
        }
        device.flush();
    }

    @Override
    public synchronized List<Entry> unfinished() {
        List<Entry> list = new ArrayList<>();
        for (MutableEntry entry : active.values()) {
            list.add(new Entry(entry.txId, entry.opType, ByteBuffer.wrap(entry.payload), entry.steps));
        }
        return list;
    }

    private MutableEntry entry(long txId) {
        MutableEntry entry = active.get(txId);
        if (entry == null) {
            throw new FlashException(FlashError.JOURNAL_ERROR, "transaction " + txId + " is unknown or finished");
        }
        return entry;
    }

    private static void putBytes(ByteBuffer block, byte[] bytes) {
        if (bytes.length > 0xFFFF) {
            throw new java.nio.BufferOverflowException();
        }
        block.putShort((short) bytes.length).put(bytes);
    }

    private static byte[] copy(ByteBuffer payload) {
        if (payload == null) {
            return new byte[0];
        }
        byte[] bytes = new byte[payload.remaining()];
        payload.duplicate().get(bytes);
        return bytes;
    }

    private static int crc(ByteBuffer block) {
        CRC32C crc = new CRC32C();
        crc.update(block.duplicate().position(0).limit(block.capacity() - 4));
        return (int) crc.getValue();
    }

    private static final class MutableEntry {
        final long txId;
        final int opType;
        final byte[] payload;
        final List<Step> steps = new ArrayList<>();

        MutableEntry(long txId, int opType, byte[] payload) {
            this.txId = txId;
            this.opType = opType;
            this.payload = payload;
        }
    }
}
