package dev.scemu.benchmarks.snapshot;

import dev.scemu.benchmarks.raid.CBaseline;
import dev.scemu.benchmarks.report.Json;
import dev.scemu.benchmarks.report.SameRunRatios;
import dev.scemu.core.NativeMemory;
import dev.scemu.snapshot.internal.BlockCompare;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * The diff compare against libc {@code memcmp} as interleaved same-run ratios (a loaded, shared
 * machine moves JMH's one-method-after-the-other figures by 2x): per size, the cases run in short
 * slices round after round, and each ratio is the median over rounds of the two cases' rates in
 * the same round. Two equal direct 4096-aligned buffers (equal: every byte compared, the worst
 * case). Cases: {@code memcmp} through JNA direct mapping, one call per compare (the reference);
 * {@code BlockCompare.equal} (what the snapshot write path calls); {@code ByteBuffer.mismatch} on
 * views (what it called before); with {@code -Dscemu.bench.clib=PATH}, {@code memcmp} 16 times
 * per JNA call in C ({@code memcmp_reps} of {@code bench/c/xor.c}: memcmp without the call).
 *
 * <pre>
 * java $SCEMU_JVM_FLAGS [-Dscemu.bench.clib=/tmp/libscemuxor.so] -cp benchmarks/target/benchmarks.jar \
 *     dev.scemu.benchmarks.snapshot.CompareRatios [--json OUT] [ROUNDS] [SLICE_MS] [BYTES...]
 * </pre>
 *
 * <p>{@code --json OUT} writes, per size, {@code BlockCompare.equal} against {@code memcmp} called
 * once per compare (issue #21's target) and, with the C library, against {@code memcmp} without
 * the call, for {@code bench/report.sh}'s renderer.
 */
public final class CompareRatios {

    private record Case(String name, BooleanSupplier op, int comparesPerOp) {
    }

    static volatile boolean sink;

    private CompareRatios() {
    }

    private static final String MEMCMP_CASE = "memcmp via JNA, one call per compare (reference)";
    private static final String EQUAL_CASE = "BlockCompare.equal (after)";
    private static final String C_LOOP_CASE = "memcmp x 16 in C per JNA call";

    public static void main(String[] commandLine) throws Exception {
        Path json = null;
        String[] args = commandLine;
        if (args.length > 1 && args[0].equals("--json")) {
            json = Path.of(args[1]);
            args = Arrays.copyOfRange(args, 2, args.length);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("harness", CompareRatios.class.getName());
        root.put("loadStart", SameRunRatios.load());
        root.put("nativeMemcmpFromBytes", BlockCompare.nativeAvailable() ? BlockCompare.NATIVE_MIN_BYTES : -1);
        List<Object> sizesJson = new ArrayList<>();
        root.put("sizes", sizesJson);
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 40;
        int sliceMs = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        int[] sizes = args.length > 2 ? Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray()
                : new int[] {4096, 65536};
        boolean c = System.getProperty(CBaseline.PROPERTY) != null;
        System.out.printf("# load at start %s; BlockCompare native memcmp from %d bytes: %s%n", SameRunRatios.load(),
                BlockCompare.NATIVE_MIN_BYTES, BlockCompare.nativeAvailable());
        for (int bytes : sizes) {
            ByteBuffer a = NativeMemory.allocateAligned(bytes, 4096);
            ByteBuffer b = NativeMemory.allocateAligned(bytes, 4096);
            byte[] pattern = new byte[bytes];
            new Random(5).nextBytes(pattern);
            a.put(0, pattern);
            b.put(0, pattern);
            long pa = NativeMemory.address(a);
            long pb = NativeMemory.address(b);
            ByteBuffer va = a.duplicate();
            ByteBuffer vb = b.duplicate();
            List<Case> cases = new ArrayList<>();
            cases.add(new Case(MEMCMP_CASE,
                    () -> CBaseline.LibC.memcmp(pa, pb, bytes) == 0, 1));
            cases.add(new Case(EQUAL_CASE, () -> BlockCompare.equal(va, 0, vb, 0, bytes), 1));
            cases.add(new Case("ByteBuffer.mismatch on views (before)",
                    () -> BlockCompare.mismatchEqual(va, 0, vb, 0, bytes), 1));
            if (Boolean.getBoolean("scemu.bench.compare.candidates")) {
                candidates(cases, a, b, pa, pb, bytes);
            }
            if (c) {
                CBaseline.require();
                cases.add(new Case(C_LOOP_CASE, () -> CBaseline.memcmp_reps(pa, pb, bytes, 16) == 0, 16));
            }
            double[][] rates = run(bytes, cases, rounds, sliceMs);
            Map<String, Object> size = new LinkedHashMap<>();
            size.put("bytes", bytes);
            size.put("vsMemcmpCall", SameRunRatios.ratioJson(EQUAL_CASE, rates[1], MEMCMP_CASE, rates[0]));
            if (c) {
                size.put("vsMemcmpLoop", SameRunRatios.ratioJson(EQUAL_CASE, rates[1], C_LOOP_CASE,
                        rates[cases.size() - 1]));
            }
            sizesJson.add(size);
        }
        System.out.printf("# load at end %s%n", SameRunRatios.load());
        if (json != null) {
            root.put("rounds", rounds);
            root.put("sliceMillis", sliceMs);
            root.put("loadEnd", SameRunRatios.load());
            Files.createDirectories(json.toAbsolutePath().getParent());
            Files.writeString(json, Json.write(root));
            System.out.println("# ratios: " + json);
        }
    }

    private static final sun.misc.Unsafe U = net.openhft.chronicle.core.UnsafeMemory.UNSAFE;

    private static final java.lang.invoke.MethodHandle VECTORIZED_MISMATCH = vectorizedMismatch();

    private static java.lang.invoke.MethodHandle vectorizedMismatch() {
        try {
            return java.lang.invoke.MethodHandles.lookup().findStatic(Class.forName("jdk.internal.util.ArraysSupport"),
                    "vectorizedMismatch", java.lang.invoke.MethodType.methodType(int.class, Object.class, long.class,
                            Object.class, long.class, int.class, int.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.out.println("# no ArraysSupport.vectorizedMismatch: " + e);
            return null;
        }
    }

    /**
     * Java loops tried against the intrinsic ({@code -Dscemu.bench.compare.candidates=true}): Unsafe
     * words ORed over 64 and 128 bytes per exit test, {@code LongBuffer.mismatch} on long views,
     * and {@code Arrays.mismatch} on heap copies of the bytes (the intrinsic on arrays).
     */
    private static void candidates(List<Case> cases, ByteBuffer a, ByteBuffer b, long pa, long pb, int bytes) {
        cases.add(new Case("candidate: Unsafe 8 longs ORed, exit test per 64 B", () -> unsafe64(pa, pb, bytes), 1));
        cases.add(new Case("candidate: Unsafe 16 longs ORed, exit test per 128 B", () -> unsafe128(pa, pb, bytes), 1));
        java.nio.LongBuffer la = a.duplicate().order(java.nio.ByteOrder.nativeOrder()).asLongBuffer();
        java.nio.LongBuffer lb = b.duplicate().order(java.nio.ByteOrder.nativeOrder()).asLongBuffer();
        cases.add(new Case("candidate: LongBuffer.mismatch", () -> la.mismatch(lb) < 0, 1));
        if (VECTORIZED_MISMATCH != null) {
            cases.add(new Case("candidate: ArraysSupport.vectorizedMismatch on addresses", () -> {
                try {
                    return (int) VECTORIZED_MISMATCH.invokeExact((Object) null, pa, (Object) null, pb, bytes, 0) < 0
                            && true;
                } catch (Throwable t) {
                    throw new IllegalStateException(t);
                }
            }, 1));
        }
        for (int shift : new int[] {64, 2048 + 16}) {
            ByteBuffer shifted = NativeMemory.allocateAligned(bytes + 4096, 4096);
            shifted.put(shift, a, 0, bytes);
            ByteBuffer sa = a.duplicate();
            ByteBuffer sb = shifted.slice(shift, bytes);
            cases.add(new Case("candidate: ByteBuffer.mismatch, second buffer " + shift + " B past a page",
                    () -> sa.mismatch(sb) < 0, 1));
        }
        byte[] ha = new byte[bytes];
        byte[] hb = new byte[bytes];
        a.get(0, ha);
        b.get(0, hb);
        cases.add(new Case("candidate: Arrays.mismatch on heap copies", () -> Arrays.mismatch(ha, hb) < 0, 1));
    }

    private static boolean unsafe64(long pa, long pb, int bytes) {
        long n = bytes;
        long i = 0;
        for (; i <= n - 64; i += 64) {
            long x = (U.getLong(pa + i) ^ U.getLong(pb + i)) | (U.getLong(pa + i + 8) ^ U.getLong(pb + i + 8))
                    | (U.getLong(pa + i + 16) ^ U.getLong(pb + i + 16)) | (U.getLong(pa + i + 24) ^ U.getLong(pb + i + 24))
                    | (U.getLong(pa + i + 32) ^ U.getLong(pb + i + 32)) | (U.getLong(pa + i + 40) ^ U.getLong(pb + i + 40))
                    | (U.getLong(pa + i + 48) ^ U.getLong(pb + i + 48)) | (U.getLong(pa + i + 56) ^ U.getLong(pb + i + 56));
            if (x != 0) {
                return false;
            }
        }
        for (; i < n; i++) {
            if (U.getByte(pa + i) != U.getByte(pb + i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean unsafe128(long pa, long pb, int bytes) {
        long n = bytes;
        long i = 0;
        for (; i <= n - 128; i += 128) {
            long x = 0;
            for (int k = 0; k < 128; k += 8) {
                x |= U.getLong(pa + i + k) ^ U.getLong(pb + i + k);
            }
            if (x != 0) {
                return false;
            }
        }
        for (; i < n; i++) {
            if (U.getByte(pa + i) != U.getByte(pb + i)) {
                return false;
            }
        }
        return true;
    }

    private static double[][] run(int bytes, List<Case> cases, int rounds, int sliceMs) throws Exception {
        long sliceNanos = sliceMs * 1_000_000L;
        List<SameRunRatios.Case> slices = cases.stream().map(c -> new SameRunRatios.Case(c.name(),
                round -> sixteenAtATime(c.op(), sliceNanos) * c.comparesPerOp() * bytes)).toList(); // bytes/ns = GB/s
        double[][] rates = SameRunRatios.measure(slices, Math.max(3, rounds / 5), rounds);
        SameRunRatios.printTable(bytes + " bytes, equal buffers", slices, rates, "GB/s");
        return rates;
    }

    /** Calls {@code op} 16 times per clock read for {@code sliceNanos}; returns calls per ns. */
    private static double sixteenAtATime(BooleanSupplier op, long sliceNanos) {
        long ops = 0;
        boolean acc = true;
        long t0 = System.nanoTime();
        long t;
        do {
            for (int i = 0; i < 16; i++) {
                acc &= op.getAsBoolean();
            }
            ops += 16;
            t = System.nanoTime();
        } while (t - t0 < sliceNanos);
        sink = acc;
        return (double) ops / (t - t0);
    }
}
