package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.internal.LibC;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Large buffers: zeroed, direct, big-endian, writable end to end; mapped ones are unmapped by free, once. */
class LargeBuffersTest {

    @Test
    void aLargeBufferIsZeroedWritableAndUnmappedByFree() {
        long before = LargeBuffers.mappedBytes();
        int capacity = (3 << 20) + 100; // not a whole number of huge pages
        ByteBuffer buffer = LargeBuffers.allocate(capacity);
        try {
            assertThat(buffer.isDirect()).isTrue();
            assertThat(buffer.capacity()).isEqualTo(capacity);
            assertThat(buffer.position()).isZero();
            assertThat(buffer.limit()).isEqualTo(capacity);
            assertThat(buffer.order()).isEqualTo(ByteOrder.BIG_ENDIAN);
            for (int i = 0; i < capacity; i += 4096) {
                assertThat(buffer.get(i)).as("byte %d", i).isZero();
            }
            assertThat(buffer.get(capacity - 1)).isZero();
            buffer.putLong(0, 0x0102030405060708L).put(capacity - 1, (byte) 7);
            assertThat(buffer.getLong(0)).isEqualTo(0x0102030405060708L);
            assertThat(buffer.get(capacity - 1)).isEqualTo((byte) 7);
            if (LibC.isAvailable()) {
                assertThat(LargeBuffers.mappedBytes() - before).as("a whole number of 2 MiB pages").isEqualTo(4L << 20);
            }
        } finally {
            LargeBuffers.free(buffer);
        }
        assertThat(LargeBuffers.mappedBytes()).isEqualTo(before);
    }

    @Test
    void smallBuffersAreOrdinaryDirectBuffersAndFreeTakesAnyBuffer() {
        long before = LargeBuffers.mappedBytes();
        ByteBuffer small = LargeBuffers.allocate(4096);
        assertThat(small.isDirect()).isTrue();
        assertThat(small.capacity()).isEqualTo(4096);
        assertThat(LargeBuffers.mappedBytes()).isEqualTo(before);
        LargeBuffers.free(small);
        LargeBuffers.free(ByteBuffer.allocate(16)); // a heap buffer: nothing to free
        assertThat(LargeBuffers.mappedBytes()).isEqualTo(before);
        assertThatThrownBy(() -> LargeBuffers.allocate(-1)).isInstanceOf(CoreException.class);
    }

    @Test
    void freeingTwiceUnmapsOnce() {
        ByteBuffer first = LargeBuffers.allocate(2 << 20);
        long mapped = LargeBuffers.mappedBytes();
        LargeBuffers.free(first);
        ByteBuffer second = LargeBuffers.allocate(2 << 20); // may reuse the address the first had
        assertThat(LargeBuffers.mappedBytes()).isEqualTo(mapped);
        second.put(0, (byte) 1);
        LargeBuffers.free(second);
        assertThat(LargeBuffers.mappedBytes()).isEqualTo(mapped - (LibC.isAvailable() ? 2L << 20 : 0));
    }

    @Test
    void hugePagesAreAlignedZeroedAndWritableUntilUnmapped() {
        assertThatThrownBy(() -> LargeBuffers.mapHugePages(4096)).isInstanceOf(CoreException.class);
        assertThatThrownBy(() -> LargeBuffers.mapHugePages(0)).isInstanceOf(CoreException.class);
        long bytes = 2 * LargeBuffers.HUGE_PAGE_BYTES;
        long address = LargeBuffers.mapHugePages(bytes);
        if (!LibC.isAvailable()) {
            assertThat(address).isZero();
            return;
        }
        try {
            assertThat(address % LargeBuffers.HUGE_PAGE_BYTES).isZero();
            assertThat(NativeMemory.isZero(address, bytes)).isTrue();
            ByteBuffer view = ByteBuffer.allocateDirect(8);
            view.putLong(0, 0x1122334455667788L);
            NativeMemory.copyFromBuffer(view, 0, address + bytes - 8, 8);
            assertThat(NativeMemory.isZero(address, bytes - 8)).isTrue();
            assertThat(NativeMemory.isZero(address + bytes - 8, 8)).isFalse();
        } finally {
            LargeBuffers.unmapHugePages(address, bytes);
        }
    }
}
