package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Correctness of the Java XOR helper at odd lengths and offsets against a byte loop. (The former
 * print-only throughput report of this class is gone: it asserted nothing and timed this helper,
 * which the engine's parity path no longer uses; parity, RAID-5 and memory-copy throughput are the
 * JMH benchmarks XorKernelBenchmark and RaidThroughputBenchmark.)
 */
class XorByteLoopTest {

    @Test
    void xorMatchesAByteLoopForEveryLengthAndOffsetOnHeapAndDirectBuffers() {
        Random random = new Random(1);
        for (int length = 0; length < 100; length++) {
            for (boolean direct : new boolean[] {true, false}) {
                byte[] a = new byte[length + 13];
                byte[] b = new byte[length + 13];
                random.nextBytes(a);
                random.nextBytes(b);
                ByteBuffer dst = ByteBuffer.allocateDirect(a.length).put(a).clear();
                ByteBuffer src = direct ? ByteBuffer.allocateDirect(b.length).put(b).clear() : ByteBuffer.wrap(b);
                Xor.xorInto(dst, 5, src, 7, length);
                for (int i = 0; i < a.length; i++) {
                    byte expected = i >= 5 && i < 5 + length ? (byte) (a[i] ^ b[i + 2]) : a[i];
                    assertThat(dst.get(i)).as("length %d byte %d", length, i).isEqualTo(expected);
                }
            }
        }
    }
}
