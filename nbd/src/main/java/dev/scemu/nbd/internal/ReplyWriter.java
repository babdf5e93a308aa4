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
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The writer thread of one connection: workers {@link #submit} executed requests, the writer
 * encodes their replies and sends every reply that is waiting in one gathering write, then gives
 * the slots back. Only this thread and the connection's own reader ({@link #sendNow}, for a
 * request it executed itself while the writer was idle) write to the socket, one at a time under
 * one lock, so replies never interleave, and a client that stops reading blocks its own
 * connection's threads only, never the shared workers.
 *
 * <p>Without structured replies every reply is a simple reply (read data follows a zero error).
 * With them, a successful READ is one {@code NBD_REPLY_TYPE_OFFSET_DATA} chunk flagged DONE
 * ({@code NBD_REPLY_TYPE_NONE} for a zero-length read), any error is one
 * {@code NBD_REPLY_TYPE_ERROR} chunk with a message, a block status is one
 * {@code NBD_REPLY_TYPE_BLOCK_STATUS} chunk flagged DONE, and other successes are simple replies
 * (allowed for replies without payload). Each reply carries its request's handle.
 */
final class ReplyWriter implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(ReplyWriter.class);

    /** Longest error message sent in an error chunk. */
    static final int MAX_MESSAGE_BYTES = RequestSlot.HEADER_BYTES - STRUCTURED_REPLY_HEADER_BYTES - 6 - 32;
    /** Queued by {@link #stop()}: ends the thread. */
    private static final RequestSlot STOP = new RequestSlot();

    private final GatheringByteChannel channel;
    private final boolean structuredReplies;
    private final String peer;
    private final Consumer<RequestSlot> release;
    private final Runnable onFailure;
    private final BlockingQueue<RequestSlot> queue = new LinkedBlockingQueue<>();
    private final List<RequestSlot> batch = new ArrayList<>();
    private final ByteBuffer[] gather;
    /** Held while replies go to the socket, by the writer thread or by {@link #sendNow}. */
    private final ReentrantLock socketLock = new ReentrantLock();
    /** The one reply {@link #sendNow} writes (used under {@link #socketLock} only). */
    private final List<RequestSlot> single = new ArrayList<>(1);
    private volatile boolean failed;

    /**
     * @param maxBatch most replies written at once (the connection's slot count)
     * @param release gives a slot back once its reply is written (or dropped)
     * @param onFailure called once if writing fails (the connection closes)
     */
    ReplyWriter(GatheringByteChannel channel, boolean structuredReplies, String peer, int maxBatch,
                Consumer<RequestSlot> release, Runnable onFailure) {
        this.channel = channel;
        this.structuredReplies = structuredReplies;
        this.peer = peer;
        this.release = release;
        this.onFailure = onFailure;
        this.gather = new ByteBuffer[2 * maxBatch];
    }

    /** Queues the reply of an executed request; the slot comes back through {@code release}. */
    void submit(RequestSlot slot) {
        queue.add(slot);
    }

    /**
     * Sends this reply from the calling thread (the connection's reader, for a request it executed
     * itself) when no reply is queued and the writer is not writing, else queues it
     * ({@link #submit}). Either way the slot comes back through {@code release}. The caller is the
     * connection's own thread, never a shared worker, so a client that stops reading blocks only
     * its own connection, as with the writer thread.
     */
    void sendNow(RequestSlot slot) {
        if (!queue.isEmpty() || !socketLock.tryLock()) {
            submit(slot);
            return;
        }
        try {
            single.add(slot);
            writeAll(single);
        } finally {
            socketLock.unlock();
        }
    }

    /** Ends the thread after the replies queued so far. */
    void stop() {
        queue.add(STOP);
    }

    @Override
    public void run() {
        try {
            while (true) {
                RequestSlot first = queue.take();
                if (first == STOP) {
                    return;
                }
                batch.add(first);
                queue.drainTo(batch, gather.length / 2 - 1);
                boolean stop = batch.remove(STOP);
                writeBatch();
                if (stop) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            // never leave a slot behind: the connection waits for all of them when it closes
            for (RequestSlot slot : batch) {
                release.accept(slot);
            }
            batch.clear();
            RequestSlot slot;
            while ((slot = queue.poll()) != null) {
                if (slot != STOP) {
                    release.accept(slot);
                }
            }
        }
    }

    private void writeBatch() {
        writeAll(batch);
    }

    /**
     * Sends the replies of {@code slots} in one gathering write under {@link #socketLock}, then
     * gives the slots back and clears the list (a failed write closes the connection: the slots
     * come back all the same).
     */
    private void writeAll(List<RequestSlot> slots) {
        socketLock.lock();
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
                while (bytes > 0) {
                    bytes -= channel.write(gather, 0, count);
                }
                java.util.Arrays.fill(gather, 0, count, null);
            }
        } catch (IOException | RuntimeException e) {
            failed = true;
            LOG.debug("{}: writing replies failed: {}", peer, e.toString());
            onFailure.run();
        } finally {
            socketLock.unlock();
            for (RequestSlot slot : slots) {
                release.accept(slot);
            }
            slots.clear();
        }
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
