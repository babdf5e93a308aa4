package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.ProgressListener;
import dev.scemu.backup.RestoreOptions;
import dev.scemu.backup.RestoreResult;
import dev.scemu.backup.ZeroPolicy;
import dev.scemu.core.Allocation;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreException;
import dev.scemu.core.Extent;
import dev.scemu.core.PhaseTrace;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Verify and restore of an image chain.
 *
 * <p>Guarantee: before the first write to the destination, the whole chain's metadata is
 * checked (header, trailer, extent map, chunk index, whole-image hash) and, when encrypted, the
 * password and the image MAC; the block size and the fit of the stored extents are checked. With
 * {@link RestoreOptions#verifyFirst()} (default) every chunk is also fully checked and decoded in
 * a first pass, so any wrong password, tampering or truncation leaves the destination untouched.
 * Without it, each chunk is authenticated (SHA-256 against the authenticated index, GCM tag)
 * before it is written.
 *
 * <p>Ordering: images are applied base first; within an image, its chunks are read, decoded and
 * written by the workers concurrently (each to its own blocks) while one more thread applies the
 * image's zero runs (disjoint from its stored extents); the next image starts only after both are
 * done and flushed. Progress and checkpoints follow the chunks in image order on the calling thread.
 * A restore checkpoint is written only after {@link BlockDevice#flush()}, so it never names a chunk
 * that could be lost in a power cut; a resumed restore applies the zero runs of its image again.
 */
public final class RestoreRun {

    private static final int ZERO_BUFFER_BYTES = 1 << 20;

    private final ImageChain chain;
    private final BackupTarget target;
    private final BlockDevice destination;
    private final RestoreOptions options;
    private final String checkpointName;
    private long doneBytes;
    private long bytesSinceCheckpoint;
    private volatile long zeroBlocks; // written by the zero-run thread, read after joining it

    private RestoreRun(ImageChain chain, BackupTarget target, BlockDevice destination, RestoreOptions options) {
        this.chain = chain;
        this.target = target;
        this.destination = destination;
        this.options = options;
        String name = options.checkpointName() != null ? options.checkpointName()
                : "restore-" + chain.top().imageId + "-" + destination.name().replaceAll("[^A-Za-z0-9._-]", "_");
        this.checkpointName = name;
    }

    /** Checks an image and its bases completely; writes nothing anywhere. */
    public static RestoreResult verify(BackupTarget target, String imageId, char[] password, int threads,
                                       ProgressListener listener) {
        long start = System.nanoTime();
        try (ImageChain chain = ImageChain.open(target, imageId, password)) {
            ProgressMeter progress = new ProgressMeter("verify", chain.storedBytes(0), 0, listener);
            long bytes = 0;
            for (OpenedImage image : chain.images) {
                bytes += ImageScanner.scan(image, threads, 0, null, (ordinal, chunk) -> { }, (ordinal, header) -> { },
                        progress);
            }
            return new RestoreResult(chain.infos(), bytes, 0, Duration.ofNanos(System.nanoTime() - start));
        }
    }

    /** Metadata of an image, checked (no chunk read). */
    public static dev.scemu.backup.ImageInfo info(BackupTarget target, String imageId, char[] password) {
        BackupRun.checkImageId(imageId);
        try (OpenedImage image = OpenedImage.open(target, imageId, password)) {
            return image.info();
        }
    }

    /** Restores {@code imageId} (and its bases) to {@code destination}; with {@code resume}, from its checkpoint. */
    public static RestoreResult restore(BackupTarget target, String imageId, char[] password, BlockDevice destination,
                                        RestoreOptions options, boolean resume) {
        long start = System.nanoTime();
        checkWritable(destination);
        try (ImageChain chain = openChain(target, imageId, password)) {
            RestoreRun run = new RestoreRun(chain, target, destination, options);
            run.checkDestination();
            RestoreCheckpoint from = resume ? run.loadCheckpoint() : null;
            List<ImageScanner.Authenticated> authenticated = options.verifyFirst() ? integrityPass(chain, options) : null;
            return run.run(resume, from, authenticated, start);
        }
    }

    /**
     * Opens and checks the chain of {@code imageId} without a destination: metadata, key, MACs and,
     * with {@link RestoreOptions#verifyFirst()}, the integrity pass (see {@link CheckedChain}).
     */
    public static CheckedChain check(BackupTarget target, String imageId, char[] password, RestoreOptions options) {
        long start = System.nanoTime();
        ImageChain chain = openChain(target, imageId, password);
        try {
            List<ImageScanner.Authenticated> authenticated = options.verifyFirst() ? integrityPass(chain, options) : null;
            return new CheckedChain(target, chain, authenticated, System.nanoTime() - start);
        } catch (RuntimeException | Error e) {
            chain.close();
            throw e;
        }
    }

    /**
     * Restores a chain {@link #check} opened (running its integrity pass now if the check did not
     * and {@code options} ask for it) to {@code destination}; with {@code resume}, from its checkpoint.
     */
    public static RestoreResult restore(CheckedChain checked, BlockDevice destination, RestoreOptions options,
                                        boolean resume) {
        long start = System.nanoTime() - checked.checkNanos();
        checkWritable(destination);
        ImageChain chain = checked.images();
        RestoreRun run = new RestoreRun(chain, checked.target(), destination, options);
        run.checkDestination();
        RestoreCheckpoint from = resume ? run.loadCheckpoint() : null;
        List<ImageScanner.Authenticated> authenticated = checked.authenticated();
        if (authenticated == null && options.verifyFirst()) {
            authenticated = integrityPass(chain, options);
            checked.authenticated(authenticated);
        }
        return run.run(resume, from, authenticated, start);
    }

    private static void checkWritable(BlockDevice destination) {
        if (destination.isReadOnly()) {
            throw new BackupException(BackupError.DESTINATION_READ_ONLY, "destination " + destination.name() + " is read-only");
        }
    }

    /** Every chunk of the chain against its authenticated index entry, before anything is written. */
    private static List<ImageScanner.Authenticated> integrityPass(ImageChain chain, RestoreOptions options) {
        List<ImageScanner.Authenticated> authenticated = new ArrayList<>();
        ProgressMeter progress = new ProgressMeter("verify", chain.storedBytes(0), 0, options.progress());
        try (PhaseTrace.Span span = PhaseTrace.begin("restore: integrity pass")) {
            for (OpenedImage image : chain.images) {
                authenticated.add(ImageScanner.authenticate(image, options.threads(), progress));
            }
        }
        return List.copyOf(authenticated);
    }

    /** The writing part: from the checkpoint (resume) or the start, every image of the chain. */
    private RestoreResult run(boolean resume, RestoreCheckpoint from, List<ImageScanner.Authenticated> authenticated,
                              long startNanos) {
        if (!resume) {
            target.deleteCheckpoint(checkpointName);
        }
        try (PhaseTrace.Span span = PhaseTrace.begin("restore: decode and write, flush")) {
            apply(from, authenticated);
        }
        return new RestoreResult(chain.infos(), doneBytes, zeroBlocks, Duration.ofNanos(System.nanoTime() - startNanos));
    }

    private static ImageChain openChain(BackupTarget target, String imageId, char[] password) {
        try (PhaseTrace.Span span = PhaseTrace.begin("restore: open the image chain (metadata, key)")) {
            return ImageChain.open(target, imageId, password);
        }
    }

    private void checkDestination() {
        OpenedImage top = chain.top();
        if (destination.blockSize() != top.header.blockSize()) {
            throw new BackupException(BackupError.GEOMETRY_MISMATCH, "image " + top.imageId + " has blocks of "
                    + top.header.blockSize() + " B, destination " + destination.name() + " has blocks of "
                    + destination.blockSize() + " B");
        }
        long needed = chain.storedEndLba();
        if (needed > destination.blockCount()) {
            throw new BackupException(BackupError.DESTINATION_TOO_SMALL, "image " + top.imageId + " stores data up to block "
                    + needed + " (of " + top.header.blockCount() + "); destination " + destination.name() + " has only "
                    + destination.blockCount() + " blocks");
        }
    }

    private RestoreCheckpoint loadCheckpoint() {
        String what = "restore checkpoint " + checkpointName;
        byte[] blob = target.readCheckpoint(checkpointName).orElseThrow(() -> new BackupException(BackupError.NO_CHECKPOINT,
                "no " + what + " on " + target.name()));
        RestoreCheckpoint c = RestoreCheckpoint.fromBlob(blob, what);
        if (!c.imageId().equals(chain.top().imageId) || !c.destinationName().equals(destination.name())
                || c.destinationBlockCount() != destination.blockCount() || c.chainIndex() < 0
                || c.chainIndex() > chain.images.size() || (c.chainIndex() < chain.images.size()
                && c.nextChunkOrdinal() > chain.images.get(c.chainIndex()).trailer.chunkCount())) {
            throw new BackupException(BackupError.NO_CHECKPOINT, what + " is for image " + c.imageId() + " on "
                    + c.destinationName() + " (" + c.destinationBlockCount() + " blocks) at image " + c.chainIndex()
                    + " chunk " + c.nextChunkOrdinal() + ", not for image " + chain.top().imageId + " on "
                    + destination.name() + " (" + destination.blockCount() + " blocks)");
        }
        return c;
    }

    private void apply(RestoreCheckpoint from, List<ImageScanner.Authenticated> authenticated) {
        int firstImage = from == null ? 0 : from.chainIndex();
        long firstOrdinal = from == null ? 0 : from.nextChunkOrdinal();
        doneBytes = from == null ? 0 : from.doneBytes();
        ProgressMeter progress = new ProgressMeter("restore", chain.storedBytes(0), doneBytes, options.progress());
        ExecutorService zeroWriter = Executors.newSingleThreadExecutor(runnable -> {
            Thread t = new Thread(runnable, "scemu-restore-zeros");
            t.setDaemon(true);
            return t;
        });
        try {
            for (int i = firstImage; i < chain.images.size(); i++) {
                OpenedImage image = chain.images.get(i);
                int imageIndex = i;
                // An image's zero runs and its stored extents are disjoint (verified: stored = covered - zeros),
                // so the zero runs are applied beside the chunk writes instead of after them. Images stay in
                // order: the next image starts only after this one's chunks and zeros are done and flushed.
                Future<?> zeros = zeroWriter.submit(() -> applyZeros(image));
                boolean scanned = false;
                try {
                    ImageScanner.scan(image, options.threads(), i == firstImage ? firstOrdinal : 0,
                            authenticated == null ? null : authenticated.get(i), this::write,
                            (ordinal, header) -> done(imageIndex, ordinal, header), progress);
                    scanned = true;
                } finally {
                    join(zeros, scanned);
                }
                flush();
                writeCheckpoint(i + 1, 0);
            }
        } finally {
            zeroWriter.shutdownNow();
        }
        flush();
        target.deleteCheckpoint(checkpointName);
    }

    /** Waits for the zero runs (also when the chunks failed: nothing may still write once restore returns). */
    private static void join(Future<?> zeros, boolean rethrow) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    zeros.get();
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (!rethrow) {
                        return; // the chunks' failure is the one reported
                    }
                    if (e.getCause() instanceof RuntimeException re) {
                        throw re;
                    }
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** On a worker: writes the chunk's extents (chunks are written concurrently, each to its own blocks). */
    private void write(long ordinal, DecodedChunk chunk) {
        int blockSize = destination.blockSize();
        int offset = 0;
        for (Extent e : chunk.header().extents()) {
            try {
                destination.write(e.lba(), (int) e.blockCount(), chunk.plain(), offset);
            } catch (CoreException ex) {
                throw new BackupException(BackupError.DESTINATION_IO, "writing blocks " + e + " of destination "
                        + destination.name() + " failed: " + ex.getMessage(), ex);
            }
            offset += (int) e.blockCount() * blockSize;
        }
    }

    /** On the calling thread, in image order: chunks up to {@code ordinal} are written. */
    private void done(int imageIndex, long ordinal, ChunkHeader header) {
        doneBytes += header.plainLength();
        bytesSinceCheckpoint += header.plainLength();
        if (bytesSinceCheckpoint >= options.checkpointIntervalBytes()) {
            flush();
            writeCheckpoint(imageIndex, ordinal + 1);
        }
    }

    /**
     * Trims or zero-writes the image's zero runs ({@link ZeroPolicy}), clipped to the destination,
     * and only where the destination may hold data: ranges it reports as ZERO or HOLE
     * ({@link BlockDevice#mapAllocation}) already read as zeros and are left alone, so restoring a
     * mostly empty image onto a thin or fresh volume touches only what the image stores.
     */
    private void applyZeros(OpenedImage image) {
        if (options.zeroPolicy() == ZeroPolicy.SKIP) {
            return;
        }
        long limit = destination.blockCount();
        List<Extent> zeros = image.extentMap.zeros();
        ByteBuffer zeroBuffer = options.zeroPolicy() == ZeroPolicy.WRITE_ZEROS
                ? ByteBuffer.allocateDirect(Math.max(destination.blockSize(), ZERO_BUFFER_BYTES)) : null;
        for (Extent z : zeros) {
            long end = Math.min(z.endLba(), limit);
            if (z.lba() >= end) {
                continue;
            }
            try {
                for (Extent d : Allocation.dataExtents(destination, new Extent(z.lba(), end - z.lba()))) {
                    if (zeroBuffer == null) {
                        destination.trim(d.lba(), d.blockCount());
                    } else {
                        int maxBlocks = zeroBuffer.capacity() / destination.blockSize();
                        for (long lba = d.lba(); lba < d.endLba(); lba += maxBlocks) {
                            destination.write(lba, (int) Math.min(maxBlocks, d.endLba() - lba), zeroBuffer, 0);
                        }
                    }
                }
            } catch (CoreException ex) {
                throw new BackupException(BackupError.DESTINATION_IO, "zeroing blocks [" + z.lba() + ", " + end
                        + ") of destination " + destination.name() + " failed: " + ex.getMessage(), ex);
            }
            zeroBlocks += end - z.lba();
        }
    }

    private void flush() {
        try {
            destination.flush();
        } catch (CoreException ex) {
            throw new BackupException(BackupError.DESTINATION_IO, "flushing destination " + destination.name()
                    + " failed: " + ex.getMessage(), ex);
        }
    }

    private void writeCheckpoint(int chainIndex, long nextOrdinal) {
        RestoreCheckpoint c = new RestoreCheckpoint(chain.top().imageId, destination.name(), destination.blockCount(),
                chainIndex, nextOrdinal, doneBytes);
        target.writeCheckpoint(checkpointName, c.toRecord());
        bytesSinceCheckpoint = 0;
    }
}
