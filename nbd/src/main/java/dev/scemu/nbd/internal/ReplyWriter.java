package dev.scemu.nbd.internal;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_BLOCK_STATUS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_FLAG_DONE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_BLOCK_STATUS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_ERROR;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_NONE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_OFFSET_DATA;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_SIMPLE_REPLY_MAGIC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_STRUCTURED_REPLY_MAGIC;
import static dev.scemu.nbd.internal.NbdProtocol.STRUCTURED_REPLY_HEADER_BYTES;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the replies of one connection, from the connection's own request threads: the thread
 * that executed a request calls {@link #send}, which writes the reply at once under the
 * connection's write lock when no other thread is writing. When one is, the reply is queued and the
 * thread goes on without waiting: the writing thread sends every queued reply (with its own, in one
 * gathering write) before it lets the lock go, and checks the queue again after letting it go, so
 * no reply is left behind and no thread ever sleeps to hand a reply over (flat combining). Replies
 * never interleave (a structured reply's chunk leaves whole, in one write under the lock), TLS
 * records are made under the lock, and a client that stops reading blocks only the thread writing
 * to it; the connection's other threads queue their replies, run out of request slots and stop
 * reading: the client's own connection is held, never another.
 *
 * <p>Without structured replies every reply is a simple reply (read data follows a zero error).
 * With them, a successful READ is one {@code NBD_REPLY_TYPE_OFFSET_DATA} chunk flagged DONE
 * ({@code NBD_REPLY_TYPE_NONE} for a zero-length read), any error is one
 * {@code NBD_REPLY_TYPE_ERROR} chunk with a message, a block status is one
 * {@code NBD_REPLY_TYPE_BLOCK_STATUS} chunk flagged DONE, and other successes are simple replies
 * (allowed for replies without payload). Each reply carries its request's handle.
 */
final class ReplyWriter {

    private static final Logger LOG = LoggerFactory.getLogger(ReplyWriter.class);

    /** Longest error message sent in an error chunk. */
    static final int MAX_MESSAGE_BYTES = RequestSlot.HEADER_BYTES - STRUCTURED_REPLY_HEADER_BYTES - 6 - 32;

    private final GatheringByteChannel channel;
    private final boolean structuredReplies;
    private final String peer;
    private final Consumer<RequestSlot> release;
    private final Runnable onFailure;
    /** Replies waiting for the thread that holds {@link #writeLock}; at most the connection's slots. */
    private final Queue<RequestSlot> queued = new ConcurrentLinkedQueue<>();
    /** The connection's write lock: held while replies go to the socket. */
    private final ReentrantLock writeLock = new ReentrantLock();
    // used under writeLock only
    private final List<RequestSlot> batch = new ArrayList<>();
    private final ByteBuffer[] gather;
    private final int maxBatch;
    private volatile boolean failed;
    /** When the reply write in progress last made progress (System.nanoTime); 0 while none is in progress. */
    private volatile long writingSinceNanos;

    /**
     * @param maxBatch most replies written at once (the connection's slot count)
     * @param release gives a slot back once its reply is written (or dropped)
     * @param onFailure called if writing fails (the connection closes)
     */
    ReplyWriter(GatheringByteChannel channel, boolean structuredReplies, String peer, int maxBatch,
                Consumer<RequestSlot> release, Runnable onFailure) {
        this.channel = channel;
        this.structuredReplies = structuredReplies;
        this.peer = peer;
        this.release = release;
        this.onFailure = onFailure;
        this.maxBatch = maxBatch;
        this.gather = new ByteBuffer[2 * maxBatch];
    }

    /**
     * Sends the reply of an executed request: written by the calling thread unless another thread
     * is writing, which then sends it (see the class comment). Either way the slot comes back
     * through {@code release} once the reply was written or, after a failure, dropped.
     */
    void send(RequestSlot slot) {
        queued.add(slot);
        // a thread that finds the lock taken leaves; the holder looks at the queue again after
        // unlocking (the add precedes the failed tryLock, which precedes that unlock and that look)
        while (!queued.isEmpty() && writeLock.tryLock()) {
            try {
                RequestSlot next;
                while (batch.size() < maxBatch && (next = queued.poll()) != null) {
                    batch.add(next);
                }
                writeAll(batch);
            } finally {
                writeLock.unlock();
            }
        }
    }

    /**
     * Sends the replies of {@code slots} in one gathering write (under {@link #writeLock}), then
     * gives the slots back and clears the list (a failed write closes the connection: the slots
     * come back all the same).
     */
    private void writeAll(List<RequestSlot> slots) {
        try {
            if (!failed) {
                int count = 0;
                long bytes = 0;
                for (RequestSlot slot : slots) {
                    ByteBuffer header = encode(slot);
                    gather[count++] = header;
                    bytes += header.remaining();
                    if (slot.replyData != null) {
                        gather[count++] = slot.replyData;
                        bytes += slot.replyData.remaining();
                    }
                }
                writingSinceNanos = System.nanoTime();
                while (bytes > 0) {
                    long written = channel.write(gather, 0, count);
                    bytes -= written;
                    if (written > 0) {
                        writingSinceNanos = System.nanoTime();
                    }
                }
                Arrays.fill(gather, 0, count, null);
            }
        } catch (IOException | RuntimeException e) {
            failed = true;
            Arrays.fill(gather, null);
            LOG.debug("{}: writing replies failed: {}", peer, e.toString());
            onFailure.run();
        } finally {
            writingSinceNanos = 0;
            for (RequestSlot slot : slots) {
                release.accept(slot);
            }
            slots.clear();
        }
    }

    /** How long the reply write in progress has made no progress (the client reads nothing); 0 if none is in progress. */
    long stalledNanos(long nowNanos) {
        long since = writingSinceNanos;
        return since == 0 ? 0 : Math.max(0, nowNanos - since);
    }

    /** Encodes the reply header into the slot's header buffer and points {@code replyData} at read data, if any. */
    private ByteBuffer encode(RequestSlot slot) {
        ByteBuffer header = slot.header;
        header.clear();
        slot.replyData = null;
        boolean read = slot.type == NBD_CMD_READ;
        if (slot.error != 0) {
            if (structuredReplies) {
                byte[] message = ascii(slot.errorMessage);
                structured(header, NBD_REPLY_TYPE_ERROR, slot.handle, 6 + message.length);
                header.putInt(slot.error).putShort((short) message.length).put(message);
            } else {
                simple(header, slot.error, slot.handle);
            }
        } else if (slot.type == NBD_CMD_BLOCK_STATUS && structuredReplies) {
            // one NBD_REPLY_TYPE_BLOCK_STATUS chunk (the one context), flagged DONE
            structured(header, NBD_REPLY_TYPE_BLOCK_STATUS, slot.handle, slot.dataLength);
            slot.replyData = dataView(slot);
        } else if (read && structuredReplies) {
            if (slot.dataLength == 0) {
                structured(header, NBD_REPLY_TYPE_NONE, slot.handle, 0);
            } else {
                structured(header, NBD_REPLY_TYPE_OFFSET_DATA, slot.handle, 8 + slot.dataLength);
                header.putLong(slot.offsetBytes);
                slot.replyData = dataView(slot);
            }
        } else {
            simple(header, 0, slot.handle);
            if (read && slot.dataLength > 0) {
                slot.replyData = dataView(slot);
            }
        }
        return header.flip();
    }

    private static ByteBuffer dataView(RequestSlot slot) {
        ByteBuffer data = slot.data();
        data.limit(slot.dataOffset + slot.dataLength).position(slot.dataOffset);
        return data;
    }

    private static void simple(ByteBuffer header, int error, long handle) {
        header.putInt(NBD_SIMPLE_REPLY_MAGIC).putInt(error).putLong(handle);
    }

    private static void structured(ByteBuffer header, int type, long handle, int lengthBytes) {
        header.putInt(NBD_STRUCTURED_REPLY_MAGIC).putShort((short) NBD_REPLY_FLAG_DONE).putShort((short) type)
                .putLong(handle).putInt(lengthBytes);
    }

    /** The message as printable ASCII (always valid UTF-8), cut to {@link #MAX_MESSAGE_BYTES}. */
    private static byte[] ascii(String message) {
        String text = message == null ? "" : message;
        int length = Math.min(text.length(), MAX_MESSAGE_BYTES);
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            char c = text.charAt(i);
            bytes[i] = c >= 0x20 && c < 0x7f ? (byte) c : (byte) '?';
        }
        return bytes;
    }
}
