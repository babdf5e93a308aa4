package dev.scemu.flash;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.flash.internal.BlockUpdateJournal;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The intent log of firmware updates: the same contract as controller-core's {@code ExecutionLog}
 * (begin / step / commit / abort, durable after {@link #sync()}, {@link #unfinished()} after a
 * restart), so the control unit can hand the manager an adapter over its execution log.
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

    /** Transactions begun but neither committed nor aborted (found at open, or begun since). */
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

    /**
     * A small journal of its own on {@code extent} of {@code device} (2 blocks: the whole state is
     * rewritten alternately into one of them at each sync). Stands in until the control unit passes
     * an adapter over controller-core's {@code ExecutionLog}.
     */
    static UpdateJournal on(BlockDevice device, Extent extent) {
        return BlockUpdateJournal.open(device, extent);
    }
}
