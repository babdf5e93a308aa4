package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NativeMemoryTest {

    @ParameterizedTest
    @CsvSource({"4096,4096", "1,4096", "5000,4096", "512,512", "0,64", "1048577,4096"})
    void alignedBuffersHaveTheAskedCapacityAndAlignment(int capacity, int alignment) {
        ByteBuffer buffer = NativeMemory.allocateAligned(capacity, alignment);
        assertThat(buffer.capacity()).isEqualTo(capacity);
        assertThat(buffer.limit()).isEqualTo(capacity);
        assertThat(NativeMemory.address(buffer) % alignment).isZero();
    }

    /** Every length up to 200 at offsets 0..9, with one nonzero byte at each place in and just outside the range. */
    @ParameterizedTest
    @CsvSource({"direct", "heap", "readOnlyHeap"})
    void isZeroLooksAtExactlyTheRange(String kind) {
        for (int offset = 0; offset < 10; offset++) {
            for (int length = 0; length <= 200; length++) {
                ByteBuffer buffer = buffer(kind, offset + length + 1, -1);
                assertThat(NativeMemory.isZero(buffer, offset, length)).as("%s all zero, %d+%d", kind, offset, length).isTrue();
                for (int nonzero = Math.max(0, offset - 1); nonzero <= offset + length; nonzero++) {
                    boolean inside = nonzero >= offset && nonzero < offset + length;
                    assertThat(NativeMemory.isZero(buffer(kind, offset + length + 1, nonzero), offset, length))
                            .as("%s %d+%d, nonzero byte at %d", kind, offset, length, nonzero).isEqualTo(!inside);
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void isZeroOfAnAddress() {
        ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
        long address = NativeMemory.address(buffer);
        assertThat(NativeMemory.isZero(address, 4096)).isTrue();
        buffer.put(4095, (byte) 0x80);
        assertThat(NativeMemory.isZero(address, 4095)).isTrue();
        assertThat(NativeMemory.isZero(address, 4096)).isFalse();
    }

    private static ByteBuffer buffer(String kind, int capacity, int nonzero) {
        ByteBuffer buffer = kind.equals("direct") ? ByteBuffer.allocateDirect(capacity) : ByteBuffer.allocate(capacity);
        if (nonzero >= 0) {
            buffer.put(nonzero, (byte) 1);
        }
        return kind.equals("readOnlyHeap") ? buffer.asReadOnlyBuffer() : buffer;
    }
}
