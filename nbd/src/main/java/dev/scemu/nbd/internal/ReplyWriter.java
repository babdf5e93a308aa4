package dev.scemu.nbd.internal;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_FLAG_DONE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_ERROR;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_NONE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_OFFSET_DATA;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_SIMPLE_REPLY_MAGIC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_STRUCTURED_REPLY_MAGIC;
import static dev.scemu.nbd.internal.NbdProtocol.SIMPLE_REPLY_HEADER_BYTES;
import static dev.scemu.nbd.internal.NbdProtocol.STRUCTURED_REPLY_HEADER_BYTES;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Writes the replies of one connection. Each reply (header and data) is written whole under one
 * lock, so replies from several workers never interleave; the handle of the request is echoed.
 *
 * <p>Without structured replies every reply is a simple reply (read data follows a zero error).
 * With them, a successful READ is one {@code NBD_REPLY_TYPE_OFFSET_DATA} chunk flagged DONE
 * ({@code NBD_REPLY_TYPE_NONE} for a zero-length read), any error is one
 * {@code NBD_REPLY_TYPE_ERROR} chunk with a message, and other successes are simple replies
 * (allowed for replies without payload).
 */
final class ReplyWriter {

    /** Longest error message sent in an error chunk. */
    static final int MAX_MESSAGE_BYTES = RequestSlot.HEADER_BYTES - STRUCTURED_REPLY_HEADER_BYTES - 6 - 32;

    private final GatheringByteChannel channel;
    private final boolean structuredReplies;
    private final ReentrantLock lock = new ReentrantLock();

    ReplyWriter(GatheringByteChannel channel, boolean structuredReplies) {
        this.channel = channel;
        this.structuredReplies = structuredReplies;
    }

    void send(RequestSlot slot) throws IOException {
        ByteBuffer header = slot.header;
        header.clear();
        ByteBuffer data = null;
        boolean read = slot.type == NBD_CMD_READ;
        if (slot.error != 0) {
            if (structuredReplies) {
                byte[] message = ascii(slot.errorMessage);
                structured(header, NBD_REPLY_TYPE_ERROR, slot.handle, 6 + message.length);
                header.putInt(slot.error).putShort((short) message.length).put(message);
            } else {
                simple(header, slot.error, slot.handle);
            }
        } else if (read && structuredReplies) {
            if (slot.dataLength == 0) {
                structured(header, NBD_REPLY_TYPE_NONE, slot.handle, 0);
            } else {
                structured(header, NBD_REPLY_TYPE_OFFSET_DATA, slot.handle, 8 + slot.dataLength);
                header.putLong(slot.offsetBytes);
                data = dataView(slot);
            }
        } else {
            simple(header, 0, slot.handle);
            if (read && slot.dataLength > 0) {
                data = dataView(slot);
            }
        }
        header.flip();
        lock.lock();
        try {
            if (data == null) {
                while (header.hasRemaining()) {
                    channel.write(header);
                }
            } else {
                ByteBuffer[] gather = slot.gather;
                gather[0] = header;
                gather[1] = data;
                while (data.hasRemaining()) {
                    channel.write(gather);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private static ByteBuffer dataView(RequestSlot slot) {
        ByteBuffer data = slot.data();
        data.limit(slot.dataOffset + slot.dataLength).position(slot.dataOffset);
        return data;
    }

    private static void simple(ByteBuffer header, int error, long handle) {
        header.putInt(NBD_SIMPLE_REPLY_MAGIC).putInt(error).putLong(handle);
        assert header.position() == SIMPLE_REPLY_HEADER_BYTES;
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
