package dev.scemu.flash;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.ExecutionLog;
import dev.scemu.core.Extent;
import dev.scemu.flash.internal.ExecutionLogJournal;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The intent log of firmware updates: the contract of controller-core's {@link ExecutionLog}
 * (begin / step / commit / abort, durable after {@link #sync()}, {@link #unfinished()} after a
 * restart). {@link #of} adapts an execution log the control unit already keeps (firmware updates
 * use their own operation type, so the log can be shared); {@link #openOrFormat} opens one of its
 * own on an extent.
 *
 * <p>Ordering: records appended before {@link #sync()} returns are durable; later ones may be lost
 * in a power cut, always as a suffix (the recovered journal is a prefix of what was appended).
 */
public interface UpdateJournal {

    /** Starts a transaction; returns its id. */
    long begin(int opType, ByteBuffer payload);

    void step(long txId, int stepIndex, ByteBuffer payload);

    void commit(long txId);

    void abort(long txId);

    /** Makes every record appended so far durable. */
    void sync();

    /** Transactions found unfinished when the journal was opened and not finished since. */
    List<Entry> unfinished();

    /**
     * An unfinished transaction.
     *
     * @param txId its id
     * @param opType operation type given to {@link #begin}
     * @param payload begin payload (read-only)
     * @param steps its steps, in append order
     */
    record Entry(long txId, int opType, ByteBuffer payload, List<Step> steps) {
        public Entry {
            payload = payload.asReadOnlyBuffer();
            steps = List.copyOf(steps);
        }
    }

    /** One step: index and payload (read-only). */
    record Step(int stepIndex, ByteBuffer payload) {
        public Step {
            payload = payload.asReadOnlyBuffer();
        }
    }

    /** The firmware-update view of {@code log}. */
    static UpdateJournal of(ExecutionLog log) {
        return new ExecutionLogJournal(log);
    }

    /**
     * Opens the execution log on {@code extent} of {@code device} (at least 3 blocks), formatting
     * it first if the extent has never been written (both header blocks all zero). A damaged log
     * is not reformatted: that fails with {@link FlashError#JOURNAL_ERROR}, and so does a header
     * formatted for another block size or region size.
     */
    static UpdateJournal openOrFormat(BlockDevice device, Extent extent) {
        return ExecutionLogJournal.openOrFormat(device, extent);
    }
}
