package dev.scemu.unit.internal;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.unit.UnitError;
import dev.scemu.unit.UnitException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An image file opened read-only under an in-memory copy-on-write overlay: reads see the file
 * except where the overlay holds a block; writes and trims go to the overlay only, so nothing
 * reaches the file. This is how a read-only unit ({@code StorageControlUnit.openReadOnly}) boots,
 * replays journals and repairs in RAM: it reports what it would do and writes no byte.
 *
 * <p>Memory: one heap array per written block (a trimmed block is a shared zero block), so the
 * overlay grows with what the boot writes (superblocks, bitmap, journal replay, dirty-region
 * resync), not with the device. {@link #overlaidBlocks()} says how many.
 *
 * <p>Thread safety: the overlay is a concurrent map and a block is replaced whole, so a read sees
 * either the old or the new content of each block.
 */
public final class ReadOnlyOverlayDevice extends AbstractBlockDevice {

    private static final byte[] TRIMMED = new byte[0];

    private final Path file;
    private final FileChannel channel;
    private final ConcurrentHashMap<Long, byte[]> overlay = new ConcurrentHashMap<>();

    private ReadOnlyOverlayDevice(String name, BlockGeometry geometry, Path file, FileChannel channel) {
        super(name, geometry);
        this.file = file;
        this.channel = channel;
    }

    /**
     * Opens {@code file} for reading only; it must hold at least {@code geometry}'s capacity.
     *
     * @throws UnitException {@link UnitError#INVALID_LAYOUT} if the file is missing, not a regular file or too short
     */
    public static ReadOnlyOverlayDevice open(String name, Path file, BlockGeometry geometry) {
        if (!Files.isRegularFile(file)) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "image " + file
                    + (Files.exists(file) ? " is not a regular file" : " is missing"));
        }
        try {
            FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
            if (channel.size() < geometry.capacityBytes()) {
                long size = channel.size();
                channel.close();
                throw new UnitException(UnitError.INVALID_LAYOUT, "image " + file + " holds " + size
                        + " bytes, less than the " + geometry.capacityBytes() + " of device " + name);
            }
            return new ReadOnlyOverlayDevice(name, geometry, file, channel);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file + " read-only", e);
        }
    }

    /** Blocks held by the overlay (written or trimmed since open). */
    public int overlaidBlocks() {
        return overlay.size();
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        int blockSize = geometry().blockSize();
        int run = 0; // blocks not in the overlay, read from the file in one call
        for (int i = 0; i <= blockCount; i++) {
            byte[] block = i < blockCount ? overlay.get(lba + i) : null;
            if (i < blockCount && block == null) {
                run++;
                continue;
            }
            if (run > 0) {
                readFile(lba + i - run, run, buffer, bufferOffset + (i - run) * blockSize);
                run = 0;
            }
            if (block != null) {
                ByteBuffer target = buffer.duplicate().position(bufferOffset + i * blockSize);
                if (block == TRIMMED) {
                    target.put(new byte[blockSize]);
                } else {
                    target.put(block);
                }
            }
        }
    }

    private void readFile(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        int blockSize = geometry().blockSize();
        ByteBuffer target = buffer.duplicate();
        target.limit(bufferOffset + blockCount * blockSize).position(bufferOffset);
        long position = lba * blockSize;
        try {
            while (target.hasRemaining()) {
                if (channel.read(target, position + target.position() - bufferOffset) < 0) {
                    throw new UncheckedIOException(new IOException("unexpected end of " + file));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("read of " + file + " at byte " + position, e);
        }
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        int blockSize = geometry().blockSize();
        ByteBuffer source = buffer.duplicate();
        for (int i = 0; i < blockCount; i++) {
            byte[] block = new byte[blockSize];
            source.position(bufferOffset + i * blockSize);
            source.get(block);
            overlay.put(lba + i, block);
        }
    }

    @Override
    protected void doFlush() {
        // nothing is ever written to the file
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        for (long i = 0; i < blockCount; i++) {
            overlay.put(lba + i, TRIMMED);
        }
    }

    @Override
    protected void doClose() {
        overlay.clear();
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file, e);
        }
    }
}
