package dev.scemu.backup;

import java.nio.ByteBuffer;

/**
 * Appends the bytes of one image being written to a {@link BackupTarget}. Nothing is visible
 * under the image id until {@link #commit()}, which publishes the image atomically.
 * {@link #close()} without commit keeps what is durable so a backup can resume. Idempotent close.
 */
public interface ImageWriter extends AutoCloseable {

    /** Appends the bytes between the buffer's position and limit (the position advances). */
    void write(ByteBuffer bytes);

    /**
     * Tells the writer that a record ends here: the only places where an object store may cut a
     * part, so the durable prefix always ends on a record boundary.
     */
    default void recordBoundary() {
    }

    /** Bytes appended so far. */
    long position();

    /** Makes as much as possible durable (a file: fsync; an object store: upload whole parts). */
    void sync();

    /** Length of the prefix that survives a crash and that {@link BackupTarget#resumeImage} can continue from. */
    long durableLength();

    /** Opaque state that {@link BackupTarget#resumeImage} needs besides the length (an upload id, part tags). */
    String resumeState();

    /** Publishes the image atomically under its id. */
    void commit();

    /** Drops the partial image. */
    void abort();

    @Override
    void close();
}
