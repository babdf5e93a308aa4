package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Differential test of {@link Xor}'s word kernels against a byte-wise reference: every length
 * 0..1 KiB plus odd tails beyond a chunk, odd offsets, 1..8 sources (the one-pass kernels for 2, 3
 * and 4 sources and the folding beyond 4), direct, heap, sliced heap (non-zero array offset) and
 * read-only heap buffers, and the destination used as a source at the same offset. Bytes outside
 * the destination range must not change. Every case runs with each available {@link XorKernel}
 * (ISA-L only takes the direct, 32-byte aligned ones of these; {@code XorKernelDifferentialTest}
 * covers aligned buffers).
 */
class XorDifferentialTest {

    private static final int SLACK = 24;

    private enum Kind { DIRECT, HEAP, HEAP_SLICED, READ_ONLY_HEAP }

    private static ByteBuffer buffer(Kind kind, byte[] contents) {
        switch (kind) {
            case DIRECT:
                return ByteBuffer.allocateDirect(contents.length).put(contents).clear();
            case HEAP:
                return ByteBuffer.wrap(contents.clone());
            case HEAP_SLICED: {
                byte[] larger = new byte[contents.length + 5];
                System.arraycopy(contents, 0, larger, 5, contents.length);
                return ByteBuffer.wrap(larger).position(5).slice();
            }
            default:
                return ByteBuffer.wrap(contents.clone()).asReadOnlyBuffer();
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.capacity()];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.get(i);
        }
        return out;
    }

    private static int[] lengths() {
        int[] extra = {4096 + 1, 4096 + 7, 4096 + 31, 65536 + 3, 65536 + 33};
        int[] all = new int[1025 + extra.length];
        for (int i = 0; i <= 1024; i++) {
            all[i] = i;
        }
        System.arraycopy(extra, 0, all, 1025, extra.length);
        return all;
    }

    static List<XorKernel> kernels() {
        List<XorKernel> kernels = new ArrayList<>();
        for (XorKernel kernel : XorKernel.values()) {
            if (kernel.available()) {
                kernels.add(kernel);
            }
        }
        return kernels;
    }

    static Stream<Arguments> kernelsAndCounts() {
        return kernels().stream().flatMap(k -> Stream.of(1, 2, 3, 4, 5, 6, 7, 8).map(c -> Arguments.of(k, c)));
    }

    static Stream<Arguments> kernelsAndOps() {
        return kernels().stream().flatMap(k -> Stream.of("xorInto", "xor2", "xor3", "copy").map(o -> Arguments.of(k, o)));
    }

    static Stream<Arguments> kernelsAndDirect() {
        return kernels().stream().flatMap(k -> Stream.of(true, false).map(d -> Arguments.of(k, d)));
    }

    @ParameterizedTest(name = "{0}, {1} sources")
    @MethodSource("kernelsAndCounts")
    void multiSourceXorMatchesByteWiseReference(XorKernel kernel, int count) {
        Random random = new Random(1000 + count);
        Kind[] kinds = Kind.values();
        for (int length : lengths()) {
            int dstOffset = random.nextInt(SLACK);
            Kind dstKind = kinds[random.nextInt(3)]; // destination must be writable
            byte[] dstBytes = new byte[length + SLACK];
            random.nextBytes(dstBytes);
            ByteBuffer dst = buffer(dstKind, dstBytes);
            boolean aliasDst = count > 1 && random.nextInt(4) == 0; // dst is also source 0, same offset
            ByteBuffer[] sources = new ByteBuffer[count + 2]; // longer than count: scratch arrays are
            int[] offsets = new int[count + 2];
            byte[][] sourceBytes = new byte[count][];
            for (int s = 0; s < count; s++) {
                if (s == 0 && aliasDst) {
                    sources[0] = dst;
                    offsets[0] = dstOffset;
                    sourceBytes[0] = dstBytes.clone();
                    continue;
                }
                sourceBytes[s] = new byte[length + SLACK];
                random.nextBytes(sourceBytes[s]);
                sources[s] = buffer(kinds[random.nextInt(kinds.length)], sourceBytes[s]);
                offsets[s] = random.nextInt(SLACK);
            }
            byte[] expected = dstBytes.clone();
            for (int k = 0; k < length; k++) {
                int x = 0;
                for (int s = 0; s < count; s++) {
                    x ^= sourceBytes[s][offsets[s] + k];
                }
                expected[dstOffset + k] = (byte) x;
            }
            Xor.xor(kernel, dst, dstOffset, sources, offsets, count, length);
            assertThat(bytes(dst)).as("length %d, %d sources, dst %s at %d, alias %s", length, count, dstKind,
                    dstOffset, aliasDst).isEqualTo(expected);
        }
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("kernelsAndOps")
    void twoAndThreeSourceEntryPointsMatchByteWiseReference(XorKernel kernel, String op) {
        Random random = new Random(op.hashCode());
        Kind[] kinds = Kind.values();
        for (int length : lengths()) {
            byte[] d = new byte[length + SLACK];
            byte[] a = new byte[length + SLACK];
            byte[] b = new byte[length + SLACK];
            byte[] c = new byte[length + SLACK];
            random.nextBytes(d);
            random.nextBytes(a);
            random.nextBytes(b);
            random.nextBytes(c);
            int dOff = random.nextInt(SLACK);
            int aOff = random.nextInt(SLACK);
            int bOff = random.nextInt(SLACK);
            int cOff = random.nextInt(SLACK);
            Kind dKind = kinds[random.nextInt(3)];
            ByteBuffer dst = buffer(dKind, d);
            ByteBuffer sa = buffer(kinds[random.nextInt(kinds.length)], a);
            ByteBuffer sb = buffer(kinds[random.nextInt(kinds.length)], b);
            ByteBuffer sc = buffer(kinds[random.nextInt(kinds.length)], c);
            byte[] expected = d.clone();
            for (int k = 0; k < length; k++) {
                expected[dOff + k] = switch (op) {
                    case "xorInto" -> (byte) (d[dOff + k] ^ a[aOff + k]);
                    case "xor2" -> (byte) (a[aOff + k] ^ b[bOff + k]);
                    case "xor3" -> (byte) (a[aOff + k] ^ b[bOff + k] ^ c[cOff + k]);
                    default -> a[aOff + k];
                };
            }
            switch (op) {
                case "xorInto" -> Xor.xorInto(kernel, dst, dOff, sa, aOff, length);
                case "xor2" -> Xor.xor(kernel, dst, dOff, sa, aOff, sb, bOff, length);
                case "xor3" -> Xor.xor(kernel, dst, dOff, sa, aOff, sb, bOff, sc, cOff, length);
                default -> Xor.copy(dst, dOff, sa, aOff, length);
            }
            assertThat(bytes(dst)).as("%s length %d dst %s at %d", op, length, dKind, dOff).isEqualTo(expected);
        }
    }

    @ParameterizedTest(name = "{0}, direct {1}")
    @MethodSource("kernelsAndDirect")
    void parityInPlaceReadModifyWriteShapeMatches(XorKernel kernel, boolean direct) {
        // Raid5Engine's RMW: p = p ^ old ^ new with p as source and destination at offset 0
        Random random = new Random(direct ? 5 : 6);
        for (int length = 0; length <= 1024 + 9; length++) {
            byte[] p = new byte[length];
            byte[] old = new byte[length];
            byte[] neu = new byte[length + 3];
            random.nextBytes(p);
            random.nextBytes(old);
            random.nextBytes(neu);
            Kind kind = direct ? Kind.DIRECT : Kind.HEAP;
            ByteBuffer pb = buffer(kind, p);
            Xor.xor(kernel, pb, 0, pb, 0, buffer(kind, old), 0, buffer(kind, neu), 3, length);
            byte[] expected = new byte[length];
            for (int k = 0; k < length; k++) {
                expected[k] = (byte) (p[k] ^ old[k] ^ neu[k + 3]);
            }
            assertThat(bytes(pb)).isEqualTo(expected);
        }
    }
}
