package dev.scemu.benchmarks.raid;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.scemu.benchmarks.report.Json;
import dev.scemu.benchmarks.report.SameRunRatios;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.core.NativeMemory;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidLevel;
import dev.scemu.raid.internal.Xor;
import dev.scemu.raid.internal.XorKernel;
import java.io.File;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Same-run ratios on a loaded, shared machine: the cases of a group run in short interleaved slices
 * (default 100 ms each, round after round), so load that comes and goes hits all of them alike; the
 * report is, per case, the median over rounds of its rate divided by the group reference's rate in
 * the same round. JMH ({@link RaidThroughputBenchmark}, {@link XorKernelBenchmark}) runs one method
 * after the other, which on this machine can move a ratio by 2x.
 *
 * <p>Groups: {@code xor} (one-pass {@code Xor.xor} on the Java kernel and, where libisal loads, on
 * the ISA-L kernel, the pre-tuning pairwise loop, a plain copy of
 * the same source bytes and, with {@code --c-lib}, the C loop of {@code bench/c/xor.c} called
 * through JNA) at 4 x 256 KiB and 4 x 64 MiB; {@code raid} (full-stripe and 4 KiB writes of
 * {@link RaidThroughputBenchmark}'s array beside its memory-copy ceilings and, with
 * {@code --before-raid JAR}, the same writes through the raid classes of another build loaded
 * child-first into the same JVM; if the jar also holds {@code dev/scemu/core/internal/MemoryBlockDevice}, the
 * "before" array's members are that build's memory medium, loaded the same way).
 *
 * <pre>
 * bench/c/run-xor.sh --lib /tmp/libscemuxor.so
 * java $SCEMU_JVM_FLAGS -cp benchmarks/target/benchmarks.jar dev.scemu.benchmarks.raid.InterleavedRatios \
 *     [--c-lib /tmp/libscemuxor.so] [--before-raid old-raid.jar] [--rounds 30] [--slice-ms 100] [--json OUT] [xor] [raid]
 * </pre>
 *
 * <p>{@code --json OUT} writes the ratios {@code bench/report.sh}'s renderer judges (issue #21's
 * targets): the selected XOR kernel against the C loop in and out of cache ({@code xorInCache},
 * {@code xorOutOfCache}, with {@code --c-lib}), the Java kernel against the same, and the
 * full-stripe and 4 KiB writes against their memory-copy ceilings ({@code fullStripeWrite},
 * {@code randomWrite4k}).
 */
public final class InterleavedRatios {

    /** C kernels of bench/c/xor.c. */
    public interface CXor extends Library {
        void xor4(Pointer p, Pointer a, Pointer b, Pointer c, Pointer d, long words);

        void copy4(Pointer p, Pointer a, Pointer b, Pointer c, Pointer d, long words);
    }

    private interface Op {
        void run();
    }

    private record Case(String name, Op op, long bytes) {
    }

    private static final int MEMBERS = RaidThroughputBenchmark.MEMBERS;
    private static final int CHUNK = RaidThroughputBenchmark.CHUNK_BYTES;
    private static final int BLOCK = RaidThroughputBenchmark.BLOCK_SIZE;
    private static final int STRIPE = RaidThroughputBenchmark.STRIPE_DATA_BYTES;

    /** Direct buffers whose addresses (not the buffers) are captured by cases. */
    private static final List<Object> keepAlive = new ArrayList<>();

    private InterleavedRatios() {
    }

    public static void main(String[] args) throws Exception {
        String cLib = null;
        String beforeRaid = null;
        Path json = null;
        int rounds = 30;
        int sliceMs = 100;
        List<String> groups = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--c-lib" -> cLib = args[++i];
                case "--before-raid" -> beforeRaid = args[++i];
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--slice-ms" -> sliceMs = Integer.parseInt(args[++i]);
                case "--json" -> json = Path.of(args[++i]);
                default -> groups.add(args[i]);
            }
        }
        if (groups.isEmpty()) {
            groups = List.of("xor", "raid");
        }
        System.out.printf("# java %s, %d rounds x %d ms slices, load %s, XOR kernel selected: %s%n",
                System.getProperty("java.version"), rounds, sliceMs, SameRunRatios.load(), XorKernel.selected().description());
        CXor c = cLib == null ? null : Native.load(cLib, CXor.class);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("harness", InterleavedRatios.class.getName());
        root.put("rounds", rounds);
        root.put("sliceMillis", sliceMs);
        root.put("loadStart", SameRunRatios.load());
        root.put("xorKernel", XorKernel.selected().description());
        for (String group : groups) {
            if (group.equals("xor")) {
                String selected = XorKernel.selected() == XorKernel.ISAL ? ISAL_CASE : JAVA_CASE;
                Measured inCache = run("xor 4 x 256 KiB (in cache), reference: copy of the same bytes",
                        xorCases(256 << 10, c), rounds, sliceMs);
                Measured outOfCache = run("xor 4 x 64 MiB (out of cache), reference: copy of the same bytes",
                        xorCases(64 << 20, c), rounds, sliceMs);
                if (c != null) {
                    root.put("xorInCache", inCache.ratio(selected, C_XOR_CASE));
                    root.put("xorOutOfCache", outOfCache.ratio(selected, C_XOR_CASE));
                    root.put("javaXorInCache", inCache.ratio(JAVA_CASE, C_XOR_CASE));
                    root.put("javaXorOutOfCache", outOfCache.ratio(JAVA_CASE, C_XOR_CASE));
                }
            } else if (group.equals("raid")) {
                Measured raid = run("RAID-5 4 x 64 MiB members, reference: memoryCopyStripe", raidCases(beforeRaid),
                        rounds, sliceMs);
                root.put("fullStripeWrite", raid.ratio(FULL_STRIPE_CASE, COPY_STRIPE_CASE));
                root.put("randomWrite4k", raid.ratio(RANDOM_4K_CASE, COPY_4K_CASE));
            }
        }
        System.out.printf("# load at end %s%n", SameRunRatios.load());
        if (json != null) {
            root.put("loadEnd", SameRunRatios.load());
            Path parent = json.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Files.writeString(json, Json.write(root));
            System.out.println("# ratios: " + json);
        }
    }

    private static final String JAVA_CASE = "java Xor.xor one pass (after), java kernel";
    private static final String ISAL_CASE = "Xor.xor, isal kernel (ISA-L xor_gen via JNA)";
    private static final String C_XOR_CASE = "C xor4 gcc -O3 -march=native";
    private static final String COPY_STRIPE_CASE = "memoryCopyStripe (reference)";
    private static final String FULL_STRIPE_CASE = "fullStripeWrite (after)";
    private static final String COPY_4K_CASE = "memoryCopy4k";
    private static final String RANDOM_4K_CASE = "randomWrite4k (after)";

    /** One group's cases and their rates per round ({@code rates[case][round]}). */
    private record Measured(List<SameRunRatios.Case> cases, double[][] rates) {
        Map<String, Object> ratio(String numerator, String denominator) {
            return SameRunRatios.ratioJson(numerator, rates[index(numerator)], denominator, rates[index(denominator)]);
        }

        private int index(String name) {
            for (int k = 0; k < cases.size(); k++) {
                if (cases.get(k).name().equals(name)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("no case " + name);
        }
    }

    private static List<Case> xorCases(int bytes, CXor c) {
        Random random = new Random(3);
        ByteBuffer[] src = new ByteBuffer[4];
        byte[] pattern = new byte[Math.min(bytes, 1 << 20)];
        for (int i = 0; i < 4; i++) {
            src[i] = NativeMemory.allocateAligned(bytes, 4096);
            for (int o = 0; o < bytes; o += pattern.length) {
                random.nextBytes(pattern);
                src[i].put(o, pattern);
            }
        }
        ByteBuffer dst = NativeMemory.allocateAligned(bytes, 4096);
        int[] offsets = new int[4];
        long total = 4L * bytes;
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("java copy (reference)", () -> {
            for (ByteBuffer s : src) {
                Xor.copy(dst, 0, s, 0, bytes);
            }
        }, total));
        cases.add(new Case(JAVA_CASE,
                () -> Xor.xor(XorKernel.JAVA, dst, 0, src, offsets, 4, bytes), total));
        if (XorKernel.ISAL.available()) {
            cases.add(new Case(ISAL_CASE,
                    () -> Xor.xor(XorKernel.ISAL, dst, 0, src, offsets, 4, bytes), total));
        }
        cases.add(new Case("java pairwise copy+xorInto (before)", () -> LegacyXor.parity(dst, src, bytes), total));
        if (Boolean.getBoolean("scemu.xor.shapes")) {
            long pa = NativeMemory.address(dst);
            long[] sa = new long[4];
            for (int i = 0; i < 4; i++) {
                sa[i] = NativeMemory.address(src[i]);
            }
            keepAlive.add(src);
            keepAlive.add(dst);
            cases.add(new Case("shape: unsafe address-only 4 words", () -> XorShapes.addressOnly4(pa, sa[0], sa[1], sa[2],
                    sa[3], bytes), total));
            cases.add(new Case("shape: unsafe object-base 4 words", () -> XorShapes.objectBase4(null, pa, null, sa[0],
                    null, sa[1], null, sa[2], null, sa[3], bytes), total));
            cases.add(new Case("shape: unsafe address-only 8 words", () -> XorShapes.addressOnly8(pa, sa[0], sa[1], sa[2],
                    sa[3], bytes), total));
            ByteBuffer[] nsrc = new ByteBuffer[4];
            for (int i = 0; i < 4; i++) {
                nsrc[i] = src[i].duplicate().order(java.nio.ByteOrder.nativeOrder());
            }
            ByteBuffer ndst = dst.duplicate().order(java.nio.ByteOrder.nativeOrder());
            cases.add(new Case("shape: ByteBuffer getLong 4 words", () -> XorShapes.byteBuffer4(ndst, nsrc[0], nsrc[1],
                    nsrc[2], nsrc[3], bytes), total));
        }
        if (c != null) {
            Pointer p = new Pointer(NativeMemory.address(dst));
            Pointer[] s = new Pointer[4];
            for (int i = 0; i < 4; i++) {
                s[i] = new Pointer(NativeMemory.address(src[i]));
            }
            cases.add(new Case(C_XOR_CASE, () -> c.xor4(p, s[0], s[1], s[2], s[3], bytes / 8),
                    total));
            cases.add(new Case("C memcpy x 4", () -> c.copy4(p, s[0], s[1], s[2], s[3], bytes / 8), total));
        }
        return cases;
    }

    /** Loads {@code dev.scemu.raid.*} from {@code jar} before the application class path. */
    private static final class ChildFirst extends URLClassLoader {
        ChildFirst(URL[] urls, ClassLoader parent) {
            super(urls, parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith("dev.scemu.raid.") && !(name.equals(MEMORY_DEVICE)
                    && findResource(MEMORY_DEVICE.replace('.', '/') + ".class") != null)) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    c = findClass(name);
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }
    }

    private static final String MEMORY_DEVICE = "dev.scemu.core.internal.MemoryBlockDevice";

    /** Members of the "before" array: the before jar's memory medium if it holds one, else today's. */
    private static List<? extends BlockDevice> members(String prefix, ClassLoader loader) throws Exception {
        Class<?> memory = loader.loadClass(MEMORY_DEVICE);
        if (memory.getClassLoader() != loader) {
            return members(prefix);
        }
        System.out.println("# before array: members are " + MEMORY_DEVICE + " of the before jar");
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < MEMBERS; i++) {
            members.add((BlockDevice) memory.getConstructor(String.class, BlockGeometry.class).newInstance(prefix + i,
                    BlockGeometry.ofBytes(BLOCK, RaidThroughputBenchmark.MEMBER_BYTES)));
        }
        return members;
    }

    private static List<? extends BlockDevice> members(String prefix) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < MEMBERS; i++) {
            members.add(Media.memory(prefix + i, BlockGeometry.ofBytes(BLOCK, RaidThroughputBenchmark.MEMBER_BYTES)));
        }
        return members;
    }

    private static BlockDevice oldArray(String jar) throws Exception {
        ClassLoader loader = new ChildFirst(new URL[] {new File(jar).toURI().toURL()},
                InterleavedRatios.class.getClassLoader());
        Class<?> level = loader.loadClass("dev.scemu.raid.RaidLevel");
        Class<?> config = loader.loadClass("dev.scemu.raid.RaidConfig");
        Class<?> array = loader.loadClass("dev.scemu.raid.RaidArray");
        Method builderOf = config.getMethod("builder", level);
        Object builder = builderOf.invoke(null, level.getField("RAID5").get(null));
        Class<?> b = builderOf.getReturnType();
        builder = b.getMethod("chunkBytes", int.class).invoke(builder, CHUNK);
        builder = b.getMethod("assumeClean", boolean.class).invoke(builder, true);
        Object cfg = b.getMethod("build").invoke(builder);
        Object created = array.getMethod("create", config, List.class).invoke(null, cfg, members("old", loader));
        if (created.getClass().getClassLoader() != loader) {
            throw new IllegalStateException("old raid classes were not loaded from " + jar);
        }
        return (BlockDevice) created;
    }

    private static void prefill(BlockDevice array, ByteBuffer stripe) {
        int stripeBlocks = STRIPE / BLOCK;
        for (long s = 0; s < array.blockCount() / stripeBlocks; s++) {
            array.write(s * stripeBlocks, stripeBlocks, stripe, 0, false);
        }
        array.flush();
    }

    private static List<Case> raidCases(String beforeRaid) throws Exception {
        Random random = new Random(42);
        ByteBuffer stripe = NativeMemory.allocateAligned(STRIPE, 4096);
        byte[] pattern = new byte[STRIPE];
        random.nextBytes(pattern);
        stripe.put(0, pattern);
        ByteBuffer small = NativeMemory.allocateAligned(BLOCK, 4096);
        small.put(0, pattern, 0, BLOCK);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).assumeClean(true)
                .build(), members("new"));
        prefill(array, stripe);
        BlockDevice old = beforeRaid == null ? null : oldArray(beforeRaid);
        if (old != null) {
            prefill(old, stripe);
        }
        int stripeBlocks = STRIPE / BLOCK;
        long stripes = array.blockCount() / stripeBlocks;
        long arrayBytes = array.blockCount() * BLOCK;
        ByteBuffer ceiling = NativeMemory.allocateAligned((int) arrayBytes, 4096);
        for (int o = 0; o + STRIPE <= arrayBytes; o += STRIPE) {
            ceiling.put(o, pattern);
        }
        int n = 4096;
        long[] stripeLbas = new long[n];
        long[] blockLbas = new long[n];
        for (int i = 0; i < n; i++) {
            stripeLbas[i] = (random.nextLong() & Long.MAX_VALUE) % stripes * stripeBlocks;
            blockLbas[i] = (random.nextLong() & Long.MAX_VALUE) % (stripes * stripeBlocks);
        }
        int[] next = new int[1];
        keepAlive.add(ceiling); // only its address is captured below: keep the buffer from being freed
        long ceilingAddress = NativeMemory.address(ceiling);
        long stripeAddress = NativeMemory.address(stripe);
        long smallAddress = NativeMemory.address(small);
        List<Case> cases = new ArrayList<>();
        cases.add(new Case(COPY_STRIPE_CASE, () -> NativeMemory.copy(stripeAddress,
                ceilingAddress + stripeLbas[next[0]++ & (n - 1)] * BLOCK, STRIPE), STRIPE));
        cases.add(new Case(FULL_STRIPE_CASE, () -> array.write(stripeLbas[next[0]++ & (n - 1)],
                stripeBlocks, stripe, 0, false), STRIPE));
        if (old != null) {
            cases.add(new Case("fullStripeWrite (before)", () -> old.write(stripeLbas[next[0]++ & (n - 1)],
                    stripeBlocks, stripe, 0, false), STRIPE));
        }
        // the write path's own memory work without the array: 3 chunk copies into the members'
        // memory at the stripe's offset plus the parity XOR (into a pool-sized buffer, then copied;
        // and straight into the parity member's memory), so full-stripe ÷ this is the array's overhead
        List<ByteBuffer> memberMemory = new ArrayList<>();
        for (int m = 0; m < MEMBERS; m++) {
            memberMemory.add(NativeMemory.allocateAligned((int) RaidThroughputBenchmark.MEMBER_BYTES, 4096));
            NativeMemory.zero(NativeMemory.address(memberMemory.get(m)), RaidThroughputBenchmark.MEMBER_BYTES);
        }
        keepAlive.add(memberMemory);
        long[] memberAddress = memberMemory.stream().mapToLong(NativeMemory::address).toArray();
        ByteBuffer parityBuffer = NativeMemory.allocateAligned(CHUNK, 4096);
        ByteBuffer[] chunkSources = {stripe, stripe, stripe};
        int[] chunkOffsets = {0, CHUNK, 2 * CHUNK};
        cases.add(new Case("stripe kernels only: 3 copies + XOR to buffer + copy", () -> {
            long at = stripeLbas[next[0]++ & (n - 1)] / (MEMBERS - 1) * BLOCK;
            for (int j = 0; j < MEMBERS - 1; j++) {
                NativeMemory.copy(stripeAddress + (long) j * CHUNK, memberAddress[j] + at, CHUNK);
            }
            Xor.xor(parityBuffer, 0, chunkSources, chunkOffsets, MEMBERS - 1, CHUNK);
            NativeMemory.copy(NativeMemory.address(parityBuffer), memberAddress[MEMBERS - 1] + at, CHUNK);
        }, STRIPE));
        cases.add(new Case("stripe kernels only: 3 copies + XOR into member", () -> {
            long at = stripeLbas[next[0]++ & (n - 1)] / (MEMBERS - 1) * BLOCK;
            for (int j = 0; j < MEMBERS - 1; j++) {
                NativeMemory.copy(stripeAddress + (long) j * CHUNK, memberAddress[j] + at, CHUNK);
            }
            Xor.xorToAddress(memberAddress[MEMBERS - 1] + at, chunkSources, chunkOffsets, MEMBERS - 1, CHUNK);
        }, STRIPE));
        cases.add(new Case(COPY_4K_CASE, () -> NativeMemory.copy(smallAddress,
                ceilingAddress + blockLbas[next[0]++ & (n - 1)] * BLOCK, BLOCK), BLOCK));
        cases.add(new Case(RANDOM_4K_CASE, () -> array.write(blockLbas[next[0]++ & (n - 1)], 1, small, 0,
                false), BLOCK));
        if (old != null) {
            cases.add(new Case("randomWrite4k (before)", () -> old.write(blockLbas[next[0]++ & (n - 1)], 1, small, 0,
                    false), BLOCK));
        }
        return cases;
    }

    private static Measured run(String title, List<Case> cases, int rounds, int sliceMs) throws Exception {
        long sliceNanos = sliceMs * 1_000_000L;
        List<SameRunRatios.Case> slices = cases.stream().map(c -> new SameRunRatios.Case(c.name(),
                round -> SameRunRatios.callsPerNano(c.op()::run, sliceNanos) * c.bytes())).toList(); // bytes/ns = GB/s
        double[][] rates = SameRunRatios.measure(slices, Math.max(3, rounds / 5), rounds);
        SameRunRatios.printTable(title, slices, rates, "GB/s");
        SameRunRatios.printPairs(slices, rates);
        return new Measured(slices, rates);
    }
}
