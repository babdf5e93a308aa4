package dev.scemu.core;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * An unfinished transaction found by {@link ExecutionLog#open}: its BEGIN record was recovered
 * but no COMMIT or ABORT. The caller redoes or undoes it and then calls
 * {@link ExecutionLog#commit} or {@link ExecutionLog#abort} with its {@link #txId()}.
 *
 * @param txId transaction id
 * @param opType operation type given to {@link ExecutionLog#begin}, 0..65535
 * @param beginPayload payload of the BEGIN record (read-only, position 0)
 * @param steps the recovered STEP records, in append order
 */
public record Transaction(long txId, int opType, ByteBuffer beginPayload, List<Step> steps) {

    public Transaction {
        beginPayload = beginPayload.asReadOnlyBuffer();
        steps = List.copyOf(steps);
    }

    /**
     * One recovered STEP record.
     *
     * @param stepIndex step index given to {@link ExecutionLog#step}, 0..65535
     * @param payload its payload (read-only, position 0)
     */
    public record Step(int stepIndex, ByteBuffer payload) {
        public Step {
            payload = payload.asReadOnlyBuffer();
        }

        @Override
        public String toString() {
            return "Step[" + stepIndex + ", " + payload.remaining() + " B]";
        }
    }

    @Override
    public String toString() {
        return "Transaction[txId=" + txId + ", opType=" + opType + ", begin " + beginPayload.remaining() + " B, steps="
                + steps + "]";
    }
}
