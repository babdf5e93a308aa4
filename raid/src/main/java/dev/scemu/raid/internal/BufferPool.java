package dev.scemu.raid.internal;

import dev.scemu.core.NativeMemory;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * Pool of direct, 4 KiB-aligned buffers of one size (a chunk), so the write path allocates nothing
 * once warm. A buffer not returned is simply garbage collected.
 */
public final class BufferPool {

    private final int bufferBytes;
    private final ConcurrentLinkedDeque<ByteBuffer> free = new ConcurrentLinkedDeque<>();

    public BufferPool(int bufferBytes) {
        this.bufferBytes = bufferBytes;
    }

    public int bufferBytes() {
        return bufferBytes;
    }

    public ByteBuffer acquire() {
        ByteBuffer buffer = free.pollFirst();
        return buffer != null ? buffer
                : NativeMemory.allocateAligned(bufferBytes, 4096).order(java.nio.ByteOrder.nativeOrder());
    }

    public void release(ByteBuffer buffer) {
        if (buffer != null) {
            free.offerFirst(buffer);
        }
    }
}
