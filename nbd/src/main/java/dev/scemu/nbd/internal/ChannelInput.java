package dev.scemu.nbd.internal;

import dev.scemu.core.LargeBuffers;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * Buffered big-endian reads from a blocking channel: small fields come out of one direct buffer
 * (one system call serves many pipelined request headers); large payloads go straight from the
 * socket into the caller's buffer. Used by one thread at a time.
 */
final class ChannelInput {

    private ReadableByteChannel channel;
    private final ByteBuffer buffer;

    ChannelInput(ReadableByteChannel channel, int bufferBytes) {
        this.channel = channel;
        this.buffer = ByteBuffer.allocateDirect(bufferBytes);
        this.buffer.flip(); // empty, in read mode
    }

    /** Frees the buffer now; only once no thread reads from this input any more (touching it then crashes the JVM). */
    void free() {
        LargeBuffers.free(buffer);
    }

    /** Bytes read from the channel and not consumed yet. */
    int buffered() {
        return buffer.remaining();
    }

    /** Reads from {@code next} from now on (after a TLS upgrade); nothing may be buffered. */
    void switchTo(ReadableByteChannel next) {
        if (buffer.hasRemaining()) {
            throw new IllegalStateException(buffer.remaining() + " bytes still buffered");
        }
        this.channel = next;
    }

    /** Waits for the next byte; false on a clean end of stream (nothing buffered, peer closed). */
    boolean awaitData() throws IOException {
        if (buffer.hasRemaining()) {
            return true;
        }
        buffer.clear();
        int read = channel.read(buffer);
        buffer.flip();
        return read > 0;
    }

    int readUnsignedShort() throws IOException {
        require(2);
        return buffer.getShort() & 0xffff;
    }

    int readInt() throws IOException {
        require(4);
        return buffer.getInt();
    }

    long readLong() throws IOException {
        require(8);
        return buffer.getLong();
    }

    byte[] readBytes(int length) throws IOException {
        byte[] bytes = new byte[length];
        int done = 0;
        while (done < length) {
            if (!buffer.hasRemaining()) {
                fill();
            }
            int n = Math.min(buffer.remaining(), length - done);
            buffer.get(bytes, done, n);
            done += n;
        }
        return bytes;
    }

    /** Reads exactly {@code length} bytes into {@code target} at {@code targetOffset} (absolute; position untouched). */
    void readFully(ByteBuffer target, int targetOffset, int length) throws IOException {
        int done = 0;
        int buffered = Math.min(buffer.remaining(), length);
        if (buffered > 0) {
            target.put(targetOffset, buffer, buffer.position(), buffered);
            buffer.position(buffer.position() + buffered);
            done = buffered;
        }
        if (length - done >= buffer.capacity() / 2) {
            ByteBuffer view = target.duplicate();
            view.limit(targetOffset + length).position(targetOffset + done);
            while (view.hasRemaining()) {
                if (channel.read(view) < 0) {
                    throw new EOFException("stream ended inside a payload of " + length + " bytes");
                }
            }
            return;
        }
        while (done < length) {
            fill();
            int n = Math.min(buffer.remaining(), length - done);
            target.put(targetOffset + done, buffer, buffer.position(), n);
            buffer.position(buffer.position() + n);
            done += n;
        }
    }

    /** Reads and discards {@code length} bytes. */
    void skip(long length) throws IOException {
        long left = length;
        while (left > 0) {
            if (!buffer.hasRemaining()) {
                fill();
            }
            int n = (int) Math.min(buffer.remaining(), left);
            buffer.position(buffer.position() + n);
            left -= n;
        }
    }

    private void require(int bytes) throws IOException {
        while (buffer.remaining() < bytes) {
            fill();
        }
    }

    /** Reads at least one more byte into the buffer, keeping what is unread. */
    private void fill() throws IOException {
        buffer.compact();
        try {
            if (channel.read(buffer) < 0) {
                throw new EOFException("stream ended");
            }
        } finally {
            buffer.flip();
        }
    }
}
