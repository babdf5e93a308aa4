package dev.scemu.backup;

import java.nio.ByteBuffer;

/**
 * Random-access reads of one committed image. Safe for concurrent reads from several threads (a
 * restore's workers each read their own chunks); idempotent close.
 */
public interface ImageReader extends AutoCloseable {

    /** Size of the image in bytes. */
    long size();

    /**
     * Reads exactly {@code dst.remaining()} bytes starting at {@code offset} into {@code dst}
     * (its position advances); fails with {@link BackupError#TRUNCATED_IMAGE} past the end.
     */
    void read(long offset, ByteBuffer dst);

    @Override
    void close();
}
