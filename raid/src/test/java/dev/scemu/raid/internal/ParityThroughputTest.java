package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.IoCause;
import dev.scemu.core.Media;
import dev.scemu.core.NativeMemory;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidLevel;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Correctness of the XOR kernels at odd lengths and offsets, and a quick throughput report (not a
 * benchmark: the JMH figures belong in the benchmarks module) of parity XOR beside a plain memory
 * copy, RAID-5 full-stripe writes and 4 KiB random writes, measured in one run so the ratios mean
 * something on a shared machine. Nothing is asserted about speed.
 */
class ParityThroughputTest {

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

    @Test
    void reportsParityAndWriteThroughput() {
        int size = 256 * 1024;
        ByteBuffer[] sources = new ByteBuffer[4];
        for (int i = 0; i < sources.length; i++) {
            sources[i] = NativeMemory.allocateAligned(size, 4096).order(java.nio.ByteOrder.nativeOrder());
        }
        ByteBuffer target = NativeMemory.allocateAligned(size, 4096).order(java.nio.ByteOrder.nativeOrder());
        int rounds = 1000;
        for (int warm = 0; warm < 2; warm++) {
            long t0 = System.nanoTime();
            for (int r = 0; r < rounds; r++) {
                Xor.copy(target, 0, sources[0], 0, size);
                for (int i = 1; i < sources.length; i++) {
                    Xor.xorInto(target, 0, sources[i], 0, size);
                }
            }
            long t1 = System.nanoTime();
            for (int r = 0; r < rounds; r++) {
                for (ByteBuffer source : sources) {
                    Xor.copy(target, 0, source, 0, size);
                }
            }
            long t2 = System.nanoTime();
            double bytes = (double) rounds * sources.length * size;
            if (warm == 1) {
                System.out.printf("parity XOR 4 x 256 KiB (in cache): %.1f GB/s of source; memory copy: %.1f GB/s;"
                        + " ratio %.2f%n", bytes / (t1 - t0), bytes / (t2 - t1), (double) (t2 - t1) / (t1 - t0));
            }
        }

        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            members.add(Media.memory("t" + i, BlockGeometry.ofBytes(4096, 40L << 20)));
        }
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(64 * 1024).assumeClean(true)
                .build(), members);
        int rowBlocks = 4 * 16;
        ByteBuffer data = NativeMemory.allocateAligned(rowBlocks * 4096 * 4, 4096);
        long rows = array.blockCount() / rowBlocks / 4;
        double full = 0;
        for (int pass = 0; pass < 3; pass++) {
            long t0 = System.nanoTime();
            for (long row = 0; row < rows; row++) {
                array.write(row * rowBlocks * 4, rowBlocks * 4, data, 0);
            }
            full = rows * rowBlocks * 4 * 4096.0 / (System.nanoTime() - t0);
        }
        ByteBuffer copyTarget = NativeMemory.allocateAligned(64 << 20, 4096);
        ByteBuffer copySource = NativeMemory.allocateAligned(64 << 20, 4096);
        long c0 = System.nanoTime();
        for (int pass = 0; pass < 3; pass++) {
            Xor.copy(copyTarget, 0, copySource, 0, 64 << 20);
        }
        double copy = 3.0 * (64 << 20) / (System.nanoTime() - c0);
        System.out.printf("RAID-5 (5 x off-heap) full-stripe write: %.2f GB/s; memory copy 64 MiB: %.2f GB/s;"
                + " ratio %.2f%n", full, copy, full / copy);
        Random random = new Random(3);
        array.meter().reset();
        int writes = 10000;
        long t0 = System.nanoTime();
        for (int i = 0; i < writes; i++) {
            array.write(random.nextInt((int) array.blockCount()), 1, data, 0);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        var meter = array.meter().snapshot();
        System.out.printf("RAID-5 4 KiB random write QD1: %.0f IOPS; physical writes per host write %.2f"
                        + " (data %d + parity %d bytes for %d host bytes)%n", writes / seconds,
                meter.writeAmplification(), meter.issuedWrite(IoCause.HOST).bytes(),
                meter.issuedWrite(IoCause.PARITY).bytes(), meter.receivedWrite().bytes());
        array.close();
    }
}
