package dev.scemu.nbd.internal;

import dev.scemu.core.NativeMemory;
import dev.scemu.nbd.NbdCommand;
import java.nio.ByteBuffer;

/**
 * One request of a connection, from the thread that reads it to its reply, with the
 * direct buffers it reuses: a data buffer (payload in, read data out; grown on demand, kept up to
 * {@link #RETAINED_DATA_BYTES}), a one-block scratch buffer for read-modify-write and a reply
 * header buffer. A connection owns a fixed set of slots; a free slot is the permission to have one
 * more request in flight.
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
    private ByteBuffer data;
    private ByteBuffer scratch;

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
        if (data == null || data.capacity() < bytes) {
            int capacity = Math.max(MIN_DATA_BYTES, (bytes + MIN_DATA_BYTES - 1) & -MIN_DATA_BYTES);
            data = NativeMemory.allocateAligned(capacity, ALIGNMENT_BYTES);
        }
        return data;
    }

    /** The current data buffer (after {@link #data(int)}). */
    ByteBuffer data() {
        return data;
    }

    /** A scratch buffer of at least {@code bytes}. */
    ByteBuffer scratch(int bytes) {
        if (scratch == null || scratch.capacity() < bytes) {
            // whole multiples of the alignment: NativeMemory.allocateAligned needs them
            int capacity = (bytes + ALIGNMENT_BYTES - 1) & -ALIGNMENT_BYTES;
            scratch = NativeMemory.allocateAligned(capacity, ALIGNMENT_BYTES);
        }
        return scratch;
    }

    /** Ends the request: restores the data buffer's limits and drops an oversized one. */
    void finish() {
        if (data != null) {
            if (data.capacity() > RETAINED_DATA_BYTES) {
                data = null;
            } else {
                data.clear();
            }
        }
        replyData = null;
        errorMessage = null;
    }
}
