package dev.scemu.benchmarks.core;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.io.IOException;

/** Opens a fresh device of the named backend for a benchmark. */
final class MediaBackends {

    private MediaBackends() {
    }

    static BlockDevice open(String backend, BlockGeometry geometry, MediaThroughputBenchmark owner) throws IOException {
        return switch (backend) {
            case "MEMORY" -> Media.memory("bench", geometry);
            default -> throw new IllegalArgumentException("unknown backend " + backend);
        };
    }
}
