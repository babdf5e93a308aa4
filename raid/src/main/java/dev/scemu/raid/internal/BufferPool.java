package dev.scemu.raid.internal;

import dev.scemu.core.NativeMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Pool of direct, 4 KiB-aligned buffers of one size (a chunk), so the write path allocates nothing
 * once warm. A buffer not returned is simply garbage collected.
 *
 * <p>The free list is an array stack under the pool's monitor: unlike a
 * {@code ConcurrentLinkedDeque} (a new node per {@code offer}), release allocates nothing unless the
 * stack has to grow, and the critical sections are a few instructions long.
 */
public final class BufferPool {

    private final int bufferBytes;
    private ByteBuffer[] free = new ByteBuffer[8];
    private int size;

    public BufferPool(int bufferBytes) {
        this.bufferBytes = bufferBytes;
    }

    public int bufferBytes() {
        return bufferBytes;
    }

    public ByteBuffer acquire() {
        synchronized (this) {
            if (size > 0) {
                ByteBuffer buffer = free[--size];
                free[size] = null;
                return buffer;
            }
        }
        return NativeMemory.allocateAligned(bufferBytes, 4096).order(ByteOrder.nativeOrder());
    }

    public void release(ByteBuffer buffer) {
        if (buffer == null) {
            return;
        }
        synchronized (this) {
            if (size == free.length) {
                free = java.util.Arrays.copyOf(free, 2 * size);
            }
            free[size++] = buffer;
        }
    }
}
