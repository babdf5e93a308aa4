package dev.scemu.core;

import dev.scemu.core.internal.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Asks the operating system about files directly, independently of the devices under test. */
final class FileProbe {

    private FileProbe() {
    }

    /** Whether {@code directory}'s file system accepts {@code open(O_DIRECT)} and a 4 KiB direct read. */
    static boolean acceptsDirectIo(Path directory) throws IOException {
        if (LibC.O_DIRECT == 0) {
            return false;
        }
        Path probe = Files.createTempFile(directory, "odirect-probe", ".img");
        try {
            Files.write(probe, new byte[4096]);
            int fd = LibC.open(probe.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC | LibC.O_DIRECT, 0);
            if (fd < 0) {
                return false;
            }
            try {
                java.nio.ByteBuffer buffer = NativeMemory.allocateAligned(4096, 4096);
                return LibC.pread(fd, NativeMemory.address(buffer), 4096, 0) == 4096;
            } finally {
                LibC.close(fd);
            }
        } finally {
            Files.delete(probe);
        }
    }

    /** True if no byte of the file is allocated (lseek SEEK_DATA finds nothing); skips if SEEK_DATA is unsupported. */
    static boolean hasNoData(Path file) {
        int fd = LibC.open(file.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new AssertionError("cannot open " + file + ": " + LibC.describe(LibC.errno()));
        }
        try {
            long dataOffset = LibC.lseek(fd, 0, LibC.SEEK_DATA);
            if (dataOffset >= 0) {
                return false;
            }
            int errno = LibC.errno();
            Assumptions.assumeTrue(errno == LibC.ENXIO, "SEEK_DATA unsupported here: " + LibC.describe(errno));
            return true;
        } finally {
            LibC.close(fd);
        }
    }
}
