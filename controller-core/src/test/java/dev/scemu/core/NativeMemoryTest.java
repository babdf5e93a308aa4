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
}
