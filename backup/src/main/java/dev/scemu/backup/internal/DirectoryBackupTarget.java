package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.ImageReader;
import dev.scemu.backup.ImageWriter;
import dev.scemu.core.FileWriteback;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Images as files in one directory: {@code <imageId>.scb} once committed, {@code
 * <imageId>.scb.partial} while being written; checkpoints as {@code <name>.ckpt}.
 *
 * <p>Ordering: {@link ImageWriter#sync()} fsyncs the partial file; commit fsyncs it, renames it
 * atomically to its final name and fsyncs the directory. A checkpoint is written to a temporary
 * file, fsynced, renamed over the old one and the directory fsynced.
 */
public final class DirectoryBackupTarget implements BackupTarget {

    /** Appended bytes between two starts of writeback ({@code FileImageWriter#startWriteback}). */
    static final long WRITEBACK_BYTES = 8L << 20;


    static final String IMAGE_SUFFIX = ".scb";
    static final String PARTIAL_SUFFIX = ".scb.partial";
    static final String CHECKPOINT_SUFFIX = ".ckpt";

    private final Path directory;

    public DirectoryBackupTarget(Path directory) {
        this.directory = directory.toAbsolutePath();
        try {
            Files.createDirectories(this.directory);
        } catch (IOException e) {
            throw io("create directory " + this.directory, e);
        }
    }

    public Path directory() {
        return directory;
    }

    /** The file of a committed image. */
    public Path imagePath(String imageId) {
        BackupRun.checkImageId(imageId);
        return directory.resolve(imageId + IMAGE_SUFFIX);
    }

    private Path partialPath(String imageId) {
        BackupRun.checkImageId(imageId);
        return directory.resolve(imageId + PARTIAL_SUFFIX);
    }

    private Path checkpointPath(String name) {
        BackupRun.checkImageId(name);
        return directory.resolve(name + CHECKPOINT_SUFFIX);
    }

    @Override
    public String name() {
        return "dir:" + directory;
    }

    @Override
    public ImageWriter createImage(String imageId) {
        if (exists(imageId)) {
            throw new BackupException(BackupError.IMAGE_EXISTS, "image " + imageId + " already exists in " + directory);
        }
        Path partial = partialPath(imageId);
        try {
            FileChannel channel = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
            return new FileImageWriter(imageId, partial, channel, 0);
        } catch (IOException e) {
            throw io("create " + partial, e);
        }
    }

    @Override
    public ImageWriter resumeImage(String imageId, long durableLength, String resumeState) {
        if (exists(imageId)) {
            throw new BackupException(BackupError.IMAGE_EXISTS, "image " + imageId + " is already committed in " + directory);
        }
        Path partial = partialPath(imageId);
        try {
            FileChannel channel = FileChannel.open(partial, StandardOpenOption.WRITE);
            if (channel.size() < durableLength) {
                long size = channel.size();
                channel.close();
                throw new BackupException(BackupError.NO_CHECKPOINT, "partial image " + partial + " has " + size
                        + " bytes, fewer than the " + durableLength + " durable bytes of its checkpoint");
            }
            channel.truncate(durableLength);
            return new FileImageWriter(imageId, partial, channel, durableLength);
        } catch (NoSuchFileException e) {
            throw new BackupException(BackupError.NO_CHECKPOINT, "partial image " + partial + " is missing", e);
        } catch (IOException e) {
            throw io("reopen " + partial, e);
        }
    }

    @Override
    public ImageReader openImage(String imageId) {
        Path path = imagePath(imageId);
        try {
            return new FileImageReader(path, FileChannel.open(path, StandardOpenOption.READ));
        } catch (NoSuchFileException e) {
            throw new BackupException(BackupError.IMAGE_NOT_FOUND, "image " + imageId + " is not in " + directory, e);
        } catch (IOException e) {
            throw io("open " + path, e);
        }
    }

    @Override
    public boolean exists(String imageId) {
        return Files.isRegularFile(imagePath(imageId));
    }

    @Override
    public List<String> list() {
        try (Stream<Path> files = Files.list(directory)) {
            List<String> ids = new ArrayList<>();
            files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(IMAGE_SUFFIX)).sorted()
                    .forEach(n -> ids.add(n.substring(0, n.length() - IMAGE_SUFFIX.length())));
            return ids;
        } catch (IOException e) {
            throw io("list " + directory, e);
        }
    }

    @Override
    public void delete(String imageId) {
        try {
            Files.deleteIfExists(imagePath(imageId));
            syncDirectory();
        } catch (IOException e) {
            throw io("delete image " + imageId, e);
        }
    }

    @Override
    public void writeCheckpoint(String name, byte[] bytes) {
        Path path = checkpointPath(name);
        Path tmp = directory.resolve(name + CHECKPOINT_SUFFIX + ".tmp");
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        } catch (IOException e) {
            throw io("write checkpoint " + tmp, e);
        }
        moveAtomically(tmp, path);
    }

    @Override
    public Optional<byte[]> readCheckpoint(String name) {
        try {
            return Optional.of(Files.readAllBytes(checkpointPath(name)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw io("read checkpoint " + name, e);
        }
    }

    @Override
    public void deleteCheckpoint(String name) {
        try {
            Files.deleteIfExists(checkpointPath(name));
        } catch (IOException e) {
            throw io("delete checkpoint " + name, e);
        }
    }

    @Override
    public void close() {
        // nothing held open
    }

    private void moveAtomically(Path from, Path to) {
        try {
            try {
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
            }
            syncDirectory();
        } catch (IOException e) {
            throw io("rename " + from + " to " + to, e);
        }
    }

    private void syncDirectory() throws IOException {
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException e) {
            // some file systems refuse to open or fsync a directory; the rename is still atomic
        }
    }

    static BackupException io(String what, IOException e) {
        return new BackupException(BackupError.TARGET_IO, "could not " + what + ": " + e, e);
    }

    private final class FileImageWriter implements ImageWriter {
        private final String imageId;
        private final Path partial;
        private final FileChannel channel;
        private final FileWriteback writeback;
        private long position;
        private long durable;
        /** End of the range whose writeback was started ({@link #startWriteback}). */
        private long writebackStarted;
        private boolean closed;

        FileImageWriter(String imageId, Path partial, FileChannel channel, long position) throws IOException {
            this.imageId = imageId;
            this.partial = partial;
            this.channel = channel;
            this.position = position;
            this.durable = position;
            this.writebackStarted = position;
            channel.position(position);
            this.writeback = FileWriteback.open(partial);
        }

        @Override
        public void write(ByteBuffer bytes) {
            checkOpen();
            try {
                while (bytes.hasRemaining()) {
                    position += channel.write(bytes);
                }
            } catch (IOException e) {
                throw io("write " + partial + " at " + position, e);
            }
            if (position - writebackStarted >= WRITEBACK_BYTES) {
                startWriteback();
            }
        }

        /**
         * Starts writeback of what was appended since the last call and returns without waiting
         * ({@code sync_file_range(SYNC_FILE_RANGE_WRITE)}): the disk writes the image while the
         * workers compress the next chunks, and the checkpoint's and commit's fsync wait only for
         * the rest. Advisory: an error here is left to the fsync to report.
         */
        private void startWriteback() {
            writeback.start(writebackStarted, position - writebackStarted);
            writebackStarted = position;
        }

        @Override
        public long position() {
            return position;
        }

        @Override
        public void sync() {
            checkOpen();
            try {
                channel.force(false);
                durable = position;
            } catch (IOException e) {
                throw io("fsync " + partial, e);
            }
        }

        @Override
        public long durableLength() {
            return durable;
        }

        @Override
        public String resumeState() {
            return "";
        }

        @Override
        public void commit() {
            checkOpen();
            sync();
            close();
            if (exists(imageId)) {
                throw new BackupException(BackupError.IMAGE_EXISTS, "image " + imageId + " appeared in " + directory
                        + " while it was being written");
            }
            moveAtomically(partial, imagePath(imageId));
        }

        @Override
        public void abort() {
            close();
            try {
                Files.deleteIfExists(partial);
            } catch (IOException e) {
                throw io("delete " + partial, e);
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            writeback.close();
            try {
                channel.close();
            } catch (IOException e) {
                throw io("close " + partial, e);
            }
        }

        private void checkOpen() {
            if (closed) {
                throw new BackupException(BackupError.TARGET_IO, "writer of " + partial + " is closed");
            }
        }
    }

    private static final class FileImageReader implements ImageReader {
        private final Path path;
        private final FileChannel channel;
        private final long size;
        private boolean closed;

        FileImageReader(Path path, FileChannel channel) throws IOException {
            this.path = path;
            this.channel = channel;
            this.size = channel.size();
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public void read(long offset, ByteBuffer dst) {
            if (offset < 0 || offset + dst.remaining() > size) {
                throw new BackupException(BackupError.TRUNCATED_IMAGE, path + ": " + dst.remaining() + " bytes at offset "
                        + offset + " lie beyond the end (" + size + " bytes)");
            }
            long position = offset;
            try {
                while (dst.hasRemaining()) {
                    int n = channel.read(dst, position);
                    if (n < 0) {
                        throw new BackupException(BackupError.TRUNCATED_IMAGE, path + " ended at " + position
                                + " while reading " + dst.remaining() + " more bytes");
                    }
                    position += n;
                }
            } catch (IOException e) {
                throw io("read " + path + " at " + position, e);
            }
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                try {
                    channel.close();
                } catch (IOException e) {
                    // nothing was written; ignore
                }
            }
        }
    }
}
