package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.NativeMemory;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every XOR kernel gives identical bytes: ISA-L's {@code xor_gen} called directly
 * ({@link IsalXor#gen}), {@link Xor} forced to {@link XorKernel#ISAL} (which takes aligned direct
 * buffers natively and sends the rest to Java) and {@link Xor} forced to {@link XorKernel#JAVA},
 * each against a byte-wise reference, on 4096-aligned direct buffers at offsets that are and are not
 * multiples of 32, over lengths around ISA-L's 128-byte block and {@link IsalXor#MIN_LENGTH}, with 2
 * to 16 sources and the destination aliased to one of the first four sources at the same offset
 * ({@link Xor}'s aliasing contract); {@link Xor#xorToAddress} (parity into native memory) on each
 * kernel for the cases without aliasing. Bytes outside the
 * destination range must not change. Skipped (ISA-L parts) where libisal is not installed.
 */
class XorKernelDifferentialTest {

    private static final int[] LENGTHS = {0, 1, 7, 8, 31, 32, 33, 127, 128, 129, 255, 256, 257, 511, 512, 520, 1000,
        1024, 2047, 2048, 2049, 4095, 4096, 4097, 4096 + 8, 65536, 65536 + 24, 262144 + 7};
    /** Offsets of each range in its buffer: multiples of 32 (ISA-L takes them) and not. */
    private static final int[] OFFSETS = {0, 32, 64, 4064, 8, 1, 17, 31};
    private static final int GUARD = 4096 + 64;

    private static ByteBuffer filled(Random random, int capacity) {
        byte[] bytes = new byte[capacity];
        random.nextBytes(bytes);
        ByteBuffer b = NativeMemory.allocateAligned(capacity, 4096);
        b.put(0, bytes);
        return b;
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.capacity()];
        b.get(0, out);
        return out;
    }

    /** One case: fresh buffers from {@code seed}, run {@code how}, return the destination's bytes. */
    private interface Run {
        void run(ByteBuffer dst, int dstOffset, ByteBuffer[] sources, int[] offsets, int count, int length);
    }

    private static byte[] runCase(long seed, int count, int length, boolean aligned, boolean alias, Run how) {
        Random random = new Random(seed);
        int capacity = length + GUARD;
        ByteBuffer dst = filled(random, capacity);
        int dstOffset = OFFSETS[random.nextInt(aligned ? 4 : OFFSETS.length)];
        ByteBuffer[] sources = new ByteBuffer[count + 1];
        int[] offsets = new int[count + 1];
        for (int s = 0; s < count; s++) {
            sources[s] = filled(random, capacity);
            offsets[s] = OFFSETS[random.nextInt(aligned ? 4 : OFFSETS.length)];
        }
        if (alias) {
            int s = random.nextInt(Math.min(count, 4)); // Xor's contract: one of the first four sources
            sources[s] = dst;
            offsets[s] = dstOffset;
        }
        how.run(dst, dstOffset, sources, offsets, count, length);
        return bytes(dst);
    }

    private static void reference(ByteBuffer dst, int dstOffset, ByteBuffer[] sources, int[] offsets, int count,
                                  int length) {
        byte[] out = new byte[length];
        for (int k = 0; k < length; k++) {
            int x = 0;
            for (int s = 0; s < count; s++) {
                x ^= sources[s].get(offsets[s] + k);
            }
            out[k] = (byte) x;
        }
        dst.put(dstOffset, out);
    }

    /** ISA-L's xor_gen called directly: the native kernel itself, for every length. */
    private static void isalDirect(ByteBuffer dst, int dstOffset, ByteBuffer[] sources, int[] offsets, int count,
                                   int length) {
        long table = IsalXor.table(count + 1);
        for (int s = 0; s < count; s++) {
            IsalXor.put(table, s, NativeMemory.address(sources[s]) + offsets[s]);
        }
        IsalXor.put(table, count, NativeMemory.address(dst) + dstOffset);
        IsalXor.gen(count + 1, length, table);
    }

    @ParameterizedTest(name = "{0} sources")
    @ValueSource(ints = {2, 3, 4, 5, 7, 8, 16})
    void allKernelsGiveIdenticalBytes(int count) {
        boolean isal = IsalXor.available();
        long seed = 7919L * count;
        for (int length : LENGTHS) {
            if (length > 65536 + 24 && count > 5) {
                continue; // keeps the run short; 2..5 sources cover the large tail
            }
            for (boolean aligned : new boolean[] {true, false}) {
                for (boolean alias : new boolean[] {false, true}) {
                    seed++;
                    String what = String.format("length %d, %d sources, aligned %s, alias %s", length, count,
                            aligned, alias);
                    byte[] expected = runCase(seed, count, length, aligned, alias, XorKernelDifferentialTest::reference);
                    byte[] java = runCase(seed, count, length, aligned, alias,
                            (d, o, s, so, c, l) -> Xor.xor(XorKernel.JAVA, d, o, s, so, c, l));
                    assertThat(java).as("java: " + what).isEqualTo(expected);
                    if (!alias) { // xorToAddress: no source may be the destination
                        byte[] javaAt = runCase(seed, count, length, aligned, false, (d, o, s, so, c, l) ->
                                Xor.xorToAddress(XorKernel.JAVA, NativeMemory.address(d) + o, s, so, c, l));
                        assertThat(javaAt).as("xorToAddress java: " + what).isEqualTo(expected);
                    }
                    if (!isal) {
                        continue;
                    }
                    byte[] viaXor = runCase(seed, count, length, aligned, alias,
                            (d, o, s, so, c, l) -> Xor.xor(XorKernel.ISAL, d, o, s, so, c, l));
                    assertThat(viaXor).as("Xor with isal: " + what).isEqualTo(expected);
                    if (!alias) {
                        byte[] isalAt = runCase(seed, count, length, aligned, false, (d, o, s, so, c, l) ->
                                Xor.xorToAddress(XorKernel.ISAL, NativeMemory.address(d) + o, s, so, c, l));
                        assertThat(isalAt).as("xorToAddress isal: " + what).isEqualTo(expected);
                    }
                    if (aligned) {
                        byte[] isalBytes = runCase(seed, count, length, true, alias, XorKernelDifferentialTest::isalDirect);
                        assertThat(isalBytes).as("xor_gen: " + what).isEqualTo(expected);
                    }
                }
            }
        }
    }

    @Test
    void twoAndThreeSourceEntryPointsAgreeAcrossKernelsOnAlignedBuffers() {
        dev.scemu.core.RequiredTool.requireThat(IsalXor.available(), "ISA-L", "libisal2");
        Random random = new Random(11);
        for (int length : LENGTHS) {
            int capacity = length + 64;
            byte[][] init = new byte[4][capacity];
            for (byte[] b : init) {
                random.nextBytes(b);
            }
            byte[][] out = new byte[2][];
            XorKernel[] kernels = {XorKernel.JAVA, XorKernel.ISAL};
            for (String op : new String[] {"xorInto", "xor2", "xor3"}) {
                for (int k = 0; k < 2; k++) {
                    ByteBuffer[] b = new ByteBuffer[4];
                    for (int i = 0; i < 4; i++) {
                        b[i] = NativeMemory.allocateAligned(capacity, 4096);
                        b[i].put(0, init[i]);
                    }
                    switch (op) {
                        case "xorInto" -> Xor.xorInto(kernels[k], b[0], 32, b[1], 0, length);
                        case "xor2" -> Xor.xor(kernels[k], b[0], 0, b[1], 32, b[2], 64 - 32, length);
                        default -> Xor.xor(kernels[k], b[0], 32, b[0], 32, b[2], 0, b[3], 32, length);
                    }
                    out[k] = bytes(b[0]);
                }
                assertThat(out[1]).as("%s length %d", op, length).isEqualTo(out[0]);
            }
        }
    }

    /** xorToAddress with heap, read-only heap, one and no sources: the same bytes as the buffer form. */
    @Test
    void xorToAddressTakesEverySourceKindAndCount() {
        Random random = new Random(5);
        int length = 4096 + 40;
        byte[][] init = new byte[3][length + 16];
        for (byte[] b : init) {
            random.nextBytes(b);
        }
        ByteBuffer[] sources = {ByteBuffer.wrap(init[0]), ByteBuffer.wrap(init[1]).asReadOnlyBuffer(),
            NativeMemory.allocateAligned(length + 16, 4096).put(0, init[2])};
        int[] offsets = {0, 16, 8};
        for (XorKernel kernel : XorKernel.values()) {
            if (!kernel.available()) {
                continue;
            }
            for (int count = 0; count <= 3; count++) {
                ByteBuffer expected = NativeMemory.allocateAligned(length, 4096);
                if (count == 0) {
                    Xor.zero(expected, 0, length);
                } else {
                    reference(expected, 0, sources, offsets, count, length);
                }
                ByteBuffer dst = filled(random, length + 64);
                byte[] before = bytes(dst);
                Xor.xorToAddress(kernel, NativeMemory.address(dst) + 32, sources, offsets, count, length);
                byte[] after = bytes(dst);
                assertThat(java.util.Arrays.copyOfRange(after, 32, 32 + length)).as("%s, %d sources", kernel, count)
                        .isEqualTo(bytes(expected));
                assertThat(java.util.Arrays.copyOfRange(after, 0, 32)).isEqualTo(java.util.Arrays.copyOfRange(before, 0, 32));
                assertThat(java.util.Arrays.copyOfRange(after, 32 + length, after.length))
                        .isEqualTo(java.util.Arrays.copyOfRange(before, 32 + length, before.length));
            }
        }
    }

    @Test
    void xorToAddressChecksEverySourceBeforeWriting() {
        ByteBuffer dst = NativeMemory.allocateAligned(8192, 4096);
        ByteBuffer src = NativeMemory.allocateAligned(8192, 4096);
        byte[] before = bytes(dst);
        ByteBuffer[] six = {src, src, src, src, src, src};
        for (XorKernel kernel : XorKernel.values()) {
            if (!kernel.available()) {
                continue;
            }
            // the bad source is the sixth: past the first group of four, which a fold would already have written
            assertThatThrownBy(() -> Xor.xorToAddress(kernel, NativeMemory.address(dst), six,
                    new int[] {0, 0, 0, 0, 0, 4096 + 32}, 6, 4096))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("source 5");
            assertThatThrownBy(() -> Xor.xorToAddress(kernel, NativeMemory.address(dst), six, new int[6], 2, -1))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            assertThat(bytes(dst)).isEqualTo(before);
        }
    }

    @Test
    void outOfBoundsRangesAreRejectedBeforeAnyNativeCall() {
        ByteBuffer dst = NativeMemory.allocateAligned(4096, 4096);
        ByteBuffer src = NativeMemory.allocateAligned(4096, 4096);
        byte[] before = bytes(dst);
        for (XorKernel kernel : XorKernel.values()) {
            if (!kernel.available()) {
                continue;
            }
            assertThatThrownBy(() -> Xor.xor(kernel, dst, 0, new ByteBuffer[] {src, src}, new int[] {0, 32}, 2, 4096))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("[32, +4096)");
            assertThatThrownBy(() -> Xor.xor(kernel, dst, 32, src, 0, src, 0, 4096))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            assertThat(bytes(dst)).isEqualTo(before);
        }
    }

    @Test
    void selectionFollowsTheSystemPropertyValue() {
        assertThat(XorKernel.select("java")).isEqualTo(XorKernel.JAVA);
        assertThat(XorKernel.select("JAVA ")).isEqualTo(XorKernel.JAVA);
        XorKernel best = IsalXor.available() ? XorKernel.ISAL : XorKernel.JAVA;
        assertThat(XorKernel.select(null)).isEqualTo(best);
        assertThat(XorKernel.select("auto")).isEqualTo(best);
        assertThat(XorKernel.select("isal")).isEqualTo(best);
        assertThatThrownBy(() -> XorKernel.select("avx"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scemu.xor=avx");
        String property = System.getProperty(XorKernel.PROPERTY);
        assertThat(Xor.kernel()).isEqualTo(XorKernel.selected())
                .isEqualTo(XorKernel.select(property));
    }
}
