package dev.scemu.nbd.internal;

import dev.scemu.core.LargeBuffers;
import dev.scemu.nbd.NbdCommand;
import java.nio.ByteBuffer;

/**
 * One request of a connection, from the thread that reads it to its reply, with the
 * direct buffers it reuses: a data buffer (payload in, read data out; grown on demand, kept up to
 * {@link #RETAINED_DATA_BYTES}), a one-block scratch buffer for read-modify-write and a reply
 * header buffer. A connection owns a fixed set of slots; a free slot is the permission to have one
 * more request in flight.
 *
 * <p>The buffers are freed explicitly, never left to the garbage collector: an oversized data
 * buffer when its request ends ({@link #finish}), all of them when the connection has ended
 * ({@link #free}). Left to the collector, a direct buffer is freed only when a collection finds it,
 * and the server allocates next to nothing on the heap: one client reading 32 MiB at a time at
 * queue depth 1 took {@code scemu serve} from 0.4 to 4.3 GB resident in 120 reads (the JVM's cap on
 * direct memory is its heap maximum, a quarter of the machine's memory), and every connection that
 * ended left its slots' buffers behind.
 */
final class RequestSlot {

    /** Data buffers up to this size stay with the slot; larger ones are dropped after the request. */
    static final int RETAINED_DATA_BYTES = 4 << 20;
    private static final int MIN_DATA_BYTES = 64 << 10;
    private static final int ALIGNMENT_BYTES = 4096;
    /** Reply header plus an error chunk with a short message. */
    static final int HEADER_BYTES = 512;

    // the request
    int type;
    NbdCommand command;
    int flags;
    long handle;
    long offsetBytes;
    long lengthBytes;

    // the outcome
    int error;
    /** KiB of the connection's and the server's payload budgets this request holds (0 if none); returned at release. */
    int budgetKib;
    /** Whether the request no longer counts as in flight: its reply went to the writer, or it was dropped (Connection). */
    boolean answered = true;
    String errorMessage;
    /** For reads: where in {@link #data} the reply data starts, and how long it is. */
    int dataOffset;
    int dataLength;

    final ByteBuffer header = ByteBuffer.allocateDirect(HEADER_BYTES);
    /** Set when the reply is encoded: the read data to send after the header, or null. */
    ByteBuffer replyData;
    private AlignedBuffer data;
    private AlignedBuffer scratch;

    void begin(int type, NbdCommand command, int flags, long handle, long offsetBytes, long lengthBytes) {
        this.type = type;
        this.command = command;
        this.flags = flags;
        this.handle = handle;
        this.offsetBytes = offsetBytes;
        this.lengthBytes = lengthBytes;
        this.error = 0;
        this.errorMessage = null;
        this.dataOffset = 0;
        this.dataLength = 0;
    }

    void fail(int nbdError, String message) {
        this.error = nbdError;
        this.errorMessage = message;
    }

    boolean has(int commandFlag) {
        return (flags & commandFlag) != 0;
    }

    /** The data buffer with at least {@code bytes} capacity, limit at capacity. */
    ByteBuffer data(int bytes) {
        if (data == null || data.buffer().capacity() < bytes) {
            int capacity = Math.max(MIN_DATA_BYTES, (bytes + MIN_DATA_BYTES - 1) & -MIN_DATA_BYTES);
            AlignedBuffer grown = AlignedBuffer.allocate(capacity);
            if (data != null) {
                data.free();
            }
            data = grown;
        }
        return data.buffer();
    }

    /** The current data buffer (after {@link #data(int)}). */
    ByteBuffer data() {
        return data.buffer();
    }

    /** A scratch buffer of at least {@code bytes}. */
    ByteBuffer scratch(int bytes) {
        if (scratch == null || scratch.buffer().capacity() < bytes) {
            AlignedBuffer grown = AlignedBuffer.allocate(bytes);
            if (scratch != null) {
                scratch.free();
            }
            scratch = grown;
        }
        return scratch.buffer();
    }

    /** Ends the request: restores the data buffer's limits and frees an oversized one. */
    void finish() {
        if (data != null) {
            if (data.buffer().capacity() > RETAINED_DATA_BYTES) {
                data.free();
                data = null;
            } else {
                data.buffer().clear();
            }
        }
        replyData = null;
        errorMessage = null;
    }

    /**
     * Frees the slot's buffers now. Only once no thread can touch them again (the connection has
     * ended and the slot is not in use): touching a freed buffer crashes the JVM.
     */
    void free() {
        if (data != null) {
            data.free();
            data = null;
        }
        if (scratch != null) {
            scratch.free();
            scratch = null;
        }
        replyData = null;
        LargeBuffers.free(header);
    }

    /**
     * A direct buffer starting on a {@value #ALIGNMENT_BYTES}-byte boundary, and the allocation it is
     * a slice of: the one {@link LargeBuffers#free} can release (a slice has no cleaner of its own).
     */
    private record AlignedBuffer(ByteBuffer buffer, ByteBuffer memory) {

        static AlignedBuffer allocate(int capacity) {
            int rounded = (capacity + ALIGNMENT_BYTES - 1) & -ALIGNMENT_BYTES;
            // alignedSlice rounds both ends inward: over-allocate so the aligned part still holds it
            ByteBuffer memory = ByteBuffer.allocateDirect(rounded + ALIGNMENT_BYTES);
            return new AlignedBuffer(memory.alignedSlice(ALIGNMENT_BYTES).limit(rounded).slice(), memory);
        }

        void free() {
            LargeBuffers.free(memory);
        }
    }
}
