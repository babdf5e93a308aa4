package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.internal.LibC;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ImageLock}: OFD locks conflict between two opens of one process as between processes (the
 * CLI's {@code MdServeImageLockTest} runs two processes and QEMU), readers share, a writer excludes
 * everyone, and closing any other descriptor of the file does not drop the lock (the flaw of
 * {@code FileChannel.tryLock}'s process-associated lock).
 */
class ImageLockTest {

    @TempDir
    Path tmp;

    @Test
    void aWriterExcludesReadersAndWritersUntilItCloses() throws Exception {
        Path image = Files.write(tmp.resolve("m0.img"), new byte[8192]);
        try (ImageLock writer = ImageLock.acquire(image, true)) {
            assertThat(writer.exclusive()).isTrue();
            assertThat(writer.held()).isTrue();
            assertThatThrownBy(() -> ImageLock.acquire(image, true)).isInstanceOfSatisfying(CoreException.class,
                    e -> {
                        assertThat(e.code()).isEqualTo(CoreError.IN_USE);
                        assertThat(e.category()).isEqualTo(ErrorCategory.BUSY);
                        assertThat(e.getMessage()).contains(image.toString()).contains("qemu-nbd");
                    });
            assertThatThrownBy(() -> ImageLock.acquire(image, false)).isInstanceOfSatisfying(CoreException.class,
                    e -> assertThat(e.code()).isEqualTo(CoreError.IN_USE));
            writer.close();
            writer.close(); // idempotent
            ImageLock.acquire(image, true).close(); // released: a new writer gets it
        }
    }

    @Test
    void readersShareAndKeepAWriterOut() throws Exception {
        Path image = Files.write(tmp.resolve("m1.img"), new byte[8192]);
        try (ImageLock first = ImageLock.acquire(image, false); ImageLock second = ImageLock.acquire(image, false)) {
            assertThatThrownBy(() -> ImageLock.acquire(image, true)).isInstanceOfSatisfying(CoreException.class,
                    e -> assertThat(e.code()).isEqualTo(CoreError.IN_USE));
        }
        ImageLock.acquire(image, true).close();
    }

    @Test
    void closingAnotherDescriptorOfTheFileKeepsTheLock() throws Exception {
        Path image = Files.write(tmp.resolve("m2.img"), new byte[8192]);
        try (ImageLock writer = ImageLock.acquire(image, true)) {
            try (FileChannel other = FileChannel.open(image, StandardOpenOption.READ)) {
                other.read(java.nio.ByteBuffer.allocate(512), 0);
            }
            assertThatThrownBy(() -> ImageLock.acquire(image, false)).isInstanceOfSatisfying(CoreException.class,
                    e -> assertThat(e.code()).isEqualTo(CoreError.IN_USE));
        }
    }

    @Test
    void aMissingFileIsAnIoErrorNamingIt() {
        Path missing = tmp.resolve("absent.img");
        assertThatThrownBy(() -> ImageLock.acquire(missing, false)).isInstanceOfSatisfying(CoreException.class, e -> {
            assertThat(e.code()).isEqualTo(CoreError.IO_ERROR);
            assertThat(e.getMessage()).contains(missing.toString()).contains("No such file");
        });
    }

    /**
     * QEMU's locks, as {@code block/file-posix.c} takes them (OFD read locks on byte 100 + permission):
     * a QEMU writer (byte 101, write) keeps a scemu reader and writer out; a QEMU reader (byte 100,
     * consistent read, only) keeps the writer out and lets a scemu reader in; and a scemu reader
     * leaves byte 101 free, so QEMU sees no writer (it looks there before it reads).
     */
    @Test
    void qemusPermissionBytesAreHonoured() throws Exception {
        Path image = Files.write(tmp.resolve("q.img"), new byte[8192]);
        int qemu = LibC.open(image.toString(), LibC.O_RDWR, 0);
        try {
            assertThat(qemuLock(qemu, 100)).as("QEMU reader's consistent-read byte").isZero();
            ImageLock.acquire(image, false).close();
            assertThatThrownBy(() -> ImageLock.acquire(image, true)).isInstanceOfSatisfying(CoreException.class,
                    e -> assertThat(e.code()).isEqualTo(CoreError.IN_USE));
            try (ImageLock reader = ImageLock.acquire(image, false)) {
                assertThat(qemuProbe(qemu, 101)).as("byte 101 free: no writer for QEMU").isTrue();
                assertThat(qemuProbe(qemu, 200)).as("byte 200 taken: the reader does not share reads with a writer")
                        .isFalse();
            }
            assertThat(qemuLock(qemu, 101)).as("QEMU writer's write byte").isZero();
            assertThatThrownBy(() -> ImageLock.acquire(image, false)).isInstanceOfSatisfying(CoreException.class,
                    e -> assertThat(e.code()).isEqualTo(CoreError.IN_USE));
        } finally {
            LibC.close(qemu);
        }
        ImageLock.acquire(image, true).close();
    }

    /** An OFD read lock on one byte, as QEMU takes them; 0 or -1. */
    private static int qemuLock(int fd, long offset) {
        return LibC.fcntl(fd, LibC.F_OFD_SETLK, NativeMemory.address(flock(0, offset)));
    }

    /** Whether QEMU could take a write lock on one byte (its check for a conflicting holder). */
    private static boolean qemuProbe(int fd, long offset) {
        java.nio.ByteBuffer probe = flock(1, offset);
        assertThat(LibC.fcntl(fd, LibC.F_OFD_GETLK, NativeMemory.address(probe))).isZero();
        return probe.getShort(0) == 2;
    }

    private static java.nio.ByteBuffer flock(int type, long offset) {
        java.nio.ByteBuffer lock = java.nio.ByteBuffer.allocateDirect(32).order(java.nio.ByteOrder.nativeOrder());
        lock.putShort(0, (short) type);
        lock.putLong(8, offset);
        lock.putLong(16, 1);
        return lock;
    }

    /** Errors that say the file system has no OFD locks give an unheld lock; a conflict's errors do not. */
    @Test
    void onlyAFileSystemWithoutLocksGivesAnUnheldLock() {
        assertThat(ImageLock.refusesLocks(37)).as("ENOLCK").isTrue();
        assertThat(ImageLock.refusesLocks(22)).as("EINVAL").isTrue();
        assertThat(ImageLock.refusesLocks(95)).as("EOPNOTSUPP").isTrue();
        assertThat(ImageLock.refusesLocks(11)).as("EAGAIN: a conflict").isFalse();
        assertThat(ImageLock.refusesLocks(13)).as("EACCES: a conflict").isFalse();
    }
}
