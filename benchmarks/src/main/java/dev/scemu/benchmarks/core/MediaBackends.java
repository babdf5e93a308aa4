package dev.scemu.benchmarks.core;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.core.MediaKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a fresh device of the named backend for a benchmark; file media go to a temporary directory. */
final class MediaBackends {

    private MediaBackends() {
    }

    static BlockDevice open(String backend, BlockGeometry geometry, MediaThroughputBenchmark owner) throws IOException {
        MediaKind kind = MediaKind.valueOf(backend);
        if (kind == MediaKind.MEMORY) {
            return Media.memory("bench", geometry);
        }
        Path directory = Files.createTempDirectory(Path.of(System.getProperty("scemu.bench.dir", "/tmp")), "scemu-bench");
        owner.useDirectory(directory);
        return Media.open(kind, "bench", directory.resolve("disk.img"), geometry);
    }
}
