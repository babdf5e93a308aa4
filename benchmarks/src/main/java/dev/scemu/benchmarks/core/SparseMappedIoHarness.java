package dev.scemu.benchmarks.core;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * 4 KiB random writes, then random reads, spread over one sparse mapped-file device of 64 GiB, with
 * a direct and with a heap buffer (a library user's {@code ByteBuffer.wrap(bytes)}), two runs of
 * each kind alternating, a new file per run (docs/benchmarks.md, "Heap buffers on mapped-file media
 * go by pread/pwrite too"). Prints the mean microseconds per write and per read. The files are
 * created in DIR (default {@code /var/tmp}: not tmpfs, whose pages would live in memory) and deleted.
 *
 * <pre>
 * java $SCEMU_JVM_FLAGS -cp benchmarks/target/benchmarks.jar dev.scemu.benchmarks.core.SparseMappedIoHarness [DIR] [IOS]
 * </pre>
 */
public final class SparseMappedIoHarness {

    private static final int BLOCK = 4096;
    private static final long DEVICE_BYTES = 64L << 30;

    private SparseMappedIoHarness() {
    }

    public static void main(String[] args) throws Exception {
        Path base = Path.of(args.length > 0 ? args[0] : "/var/tmp");
        int ios = args.length > 1 ? Integer.parseInt(args[1]) : 3000;
        Path dir = Files.createTempDirectory(base, "scemu-sparse-io");
        try {
            for (String kind : new String[] {"direct", "heap", "direct", "heap"}) {
                Path file = dir.resolve(kind + "-" + System.nanoTime());
                try (BlockDevice device = Media.mappedFile(file, BlockGeometry.ofBytes(BLOCK, DEVICE_BYTES))) {
                    ByteBuffer buffer = kind.equals("heap") ? ByteBuffer.allocate(BLOCK) : ByteBuffer.allocateDirect(BLOCK);
                    Random random = new Random(1);
                    long blocks = DEVICE_BYTES / BLOCK;
                    long start = System.nanoTime();
                    for (int i = 0; i < ios; i++) {
                        device.write(Math.floorMod(random.nextLong(), blocks), 1, buffer, 0);
                    }
                    long written = System.nanoTime();
                    for (int i = 0; i < ios; i++) {
                        device.read(Math.floorMod(random.nextLong(), blocks), 1, buffer, 0);
                    }
                    long read = System.nanoTime();
                    System.out.printf("%s buffer: spread 4 KiB write %.1f us, spread 4 KiB read %.1f us%n", kind,
                            (written - start) / 1e3 / ios, (read - written) / 1e3 / ios);
                } finally {
                    Files.deleteIfExists(file);
                }
            }
        } finally {
            Files.deleteIfExists(dir);
        }
    }
}
