package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupOptions;
import dev.scemu.backup.BackupResult;
import dev.scemu.backup.BackupSource;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.CheckedBase;
import dev.scemu.backup.ImageInfo;
import dev.scemu.backup.ImageKey;
import dev.scemu.backup.ImageWriter;
import dev.scemu.backup.KdfParameters;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreException;
import dev.scemu.core.Extent;
import dev.scemu.core.PhaseTrace;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * One backup (or its resume): asks the source which of the blocks to back up hold data
 * ({@link SourceAllocation}: the others are recorded as zero runs without being read), hands chunk
 * windows of those to the workers, which read and encode them ({@code threads + 2} windows in
 * flight), appends the results in window order to the image, checkpoints, and finally writes the
 * extent map, trailer and locator and commits.
 *
 * <p>Ordering: a checkpoint names only chunks inside the writer's durable prefix, and is written
 * after {@link ImageWriter#sync()}; the image becomes visible only at {@link ImageWriter#commit()},
 * after its last record; the checkpoint is deleted after the commit.
 */
public final class BackupRun {

    private static final Pattern IMAGE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final BackupSource source;
    private final BackupTarget target;
    private final BackupOptions options;
    private final ImageHeader header;
    private final byte[] headerRecord;
    private final ImageKeys keys;
    private final List<Extent> covered;
    private final List<Extent> scan;
    private final ProgressMeter progress;
    private final List<ChunkIndexEntry> entries;
    private final ExtentRuns.Builder stored = new ExtentRuns.Builder();
    private ImageWriter writer;
    private long lastSequence = -1;
    private long scannedBytes;
    private long bytesSinceCheckpoint;

    private BackupRun(BackupSource source, BackupTarget target, BackupOptions options, ImageHeader header,
                      byte[] headerRecord, ImageKeys keys, List<Extent> covered, List<Extent> scan,
                      List<ChunkIndexEntry> entries, List<Extent> storedSoFar, long scannedSoFar, long skippedBytes) {
        this.source = source;
        this.target = target;
        this.options = options;
        this.header = header;
        this.headerRecord = headerRecord;
        this.keys = keys;
        this.covered = covered;
        this.scan = scan;
        this.entries = new ArrayList<>(entries);
        this.stored.addAll(storedSoFar);
        this.scannedBytes = scannedSoFar;
        // progress counts the blocks to describe: those read, and those the source said hold no data (done at once)
        long total = ExtentRuns.blocks(scan) * header.blockSize() + skippedBytes;
        this.progress = new ProgressMeter("backup", total, Math.min(total, scannedSoFar + skippedBytes), options.progress());
    }

    /** A new full or incremental backup. Releases the source when it ends. */
    public static BackupResult backup(BackupSource source, BackupTarget target, BackupOptions options) {
        return backup(source, target, options, null, null);
    }

    /**
     * A new full or incremental backup, encrypted with {@code key} when it is not null (derived
     * beforehand from the options' password and KDF parameters, see {@link NewImageKey}), on the
     * base {@code checkedBase} when it is not null (opened beforehand by {@link #openBase} with the
     * same options; else an incremental opens its base here). Releases the source when it ends.
     */
    public static BackupResult backup(BackupSource source, BackupTarget target, BackupOptions options, ImageKey key,
                                      CheckedBase checkedBase) {
        try {
            if (checkedBase != null && options.baseImageId() == null) {
                throw new BackupException(BackupError.INVALID_ARGUMENT, "a checked base was given, but the options name"
                        + " no base image");
            }
            if (key != null && (options.password() == null || !(key instanceof NewImageKey))) {
                throw new BackupException(BackupError.INVALID_ARGUMENT, options.password() == null
                        ? "an image key was given without the password it was derived from (the options have none)"
                        : "the image key " + key.getClass().getName() + " was not made by BackupEngine.deriveImageKey");
            }
            BlockDevice device = source.device();
            int blockSize = device.blockSize();
            if (options.chunkSizeBytes() % blockSize != 0) {
                throw new BackupException(BackupError.INVALID_ARGUMENT, "chunk size " + options.chunkSizeBytes()
                        + " bytes is not a multiple of the source block size " + blockSize);
            }
            String imageId = options.imageId() != null ? options.imageId() : newImageId(options.simulationSeed());
            checkImageId(imageId);
            if (target.exists(imageId)) {
                throw new BackupException(BackupError.IMAGE_EXISTS, "image " + imageId + " already exists on " + target.name());
            }
            List<Extent> all = device.blockCount() == 0 ? List.of() : List.of(new Extent(0, device.blockCount()));
            List<Extent> covered = all;
            List<Extent> scan;
            String baseId = "";
            String baseToken = "";
            byte[] baseSha = new byte[ArchiveLayout.SHA256_BYTES];
            if (options.baseImageId() != null) {
                AcceptedBase base = base(target, options, source, checkedBase);
                baseId = base.info().imageId();
                baseToken = base.info().snapshotToken();
                baseSha = base.imageSha256();
                List<Extent> changed = source.changedExtentsSince(baseToken);
                if (changed == null) {
                    throw new BackupException(BackupError.CHANGED_BLOCKS_UNKNOWN, "source " + source.volumeId()
                            + " cannot list the blocks changed since snapshot '" + baseToken + "' of base image " + baseId);
                }
                covered = ExtentRuns.normalize(changed, device.blockCount());
                scan = covered;
            } else {
                List<Extent> used = source.usedExtents();
                scan = used == null ? all : ExtentRuns.normalize(used, device.blockCount());
            }
            List<Extent> data;
            try (PhaseTrace.Span span = PhaseTrace.begin("backup: allocation map of the source")) {
                data = SourceAllocation.dataExtents(device, scan, bridgeBlocks(blockSize));
            }
            long skippedBytes = (ExtentRuns.blocks(scan) - ExtentRuns.blocks(data)) * blockSize;
            scan = data;
            byte[] salt = new byte[ArchiveLayout.SALT_BYTES];
            byte[] keyCheck = new byte[ArchiveLayout.KEY_CHECK_BYTES];
            ImageKeys keys = null;
            KdfParameters kdf = options.kdf();
            if (key != null) {
                NewImageKey derived = (NewImageKey) key;
                keys = derived.take(imageId, kdf); // its salt and master key: the same derivation, done earlier
                salt = derived.salt();
                keyCheck = keys.keyCheck();
            } else if (options.password() != null) {
                new SecureRandom().nextBytes(salt);
                keys = ImageKeys.derive(options.password(), kdf, salt, imageId);
                keyCheck = keys.keyCheck();
            }
            boolean encrypted = keys != null;
            ImageHeader header = new ImageHeader(ArchiveLayout.FORMAT_VERSION, imageId, System.currentTimeMillis(),
                    ScemuVersion.VALUE, source.volumeId(), source.snapshotToken(), blockSize, device.blockCount(),
                    options.chunkSizeBytes(), options.userLabel(), baseId, baseToken, options.compressionLevel(), encrypted,
                    encrypted ? kdf.memoryKiB() : 0, encrypted ? kdf.iterations() : 0, encrypted ? kdf.parallelism() : 0,
                    salt, keyCheck, baseSha, new byte[ArchiveLayout.HEADER_MAC_BYTES]);
            BackupRun run = new BackupRun(source, target, options, header, header.toRecord(keys), keys, covered, scan,
                    List.of(), List.of(), 0, skippedBytes);
            return run.runFresh();
        } finally {
            source.release();
        }
    }

    /** See {@link dev.scemu.backup.BackupEngine#discardPartial}. */
    public static void discardPartial(BackupTarget target, String imageId) {
        if (target.exists(imageId)) {
            return; // committed: not a partial image
        }
        String checkpointName = BackupCheckpoint.blobName(imageId);
        String writerState = "";
        java.util.Optional<byte[]> blob = target.readCheckpoint(checkpointName);
        if (blob.isPresent()) {
            try {
                writerState = BackupCheckpoint.fromBlob(blob.get(), "checkpoint of " + imageId).writerState();
            } catch (BackupException e) {
                // a damaged checkpoint names no upload; the file target needs none
            }
        }
        try {
            target.resumeImage(imageId, 0, writerState).abort();
        } catch (BackupException e) {
            if (e.code() != BackupError.NO_CHECKPOINT) {
                throw e;
            }
            // no partial image (the backup failed before it created one)
        }
        target.deleteCheckpoint(checkpointName);
    }

    /** Continues an interrupted backup from its checkpoint. Releases the source when it ends. */
    public static BackupResult resume(BackupSource source, BackupTarget target, String imageId, BackupOptions options) {
        try {
            checkImageId(imageId);
            String what = "backup checkpoint of image " + imageId;
            byte[] blob = target.readCheckpoint(BackupCheckpoint.blobName(imageId)).orElseThrow(() -> new BackupException(
                    BackupError.NO_CHECKPOINT, "no " + what + " on " + target.name()));
            BackupCheckpoint checkpoint = BackupCheckpoint.fromBlob(blob, what);
            RecordHeader rh = RecordHeader.parse(checkpoint.headerRecord(), ArchiveLayout.HEADER_MAGIC,
                    ArchiveLayout.FORMAT_VERSION, checkpoint.headerRecord().length - RecordHeader.BYTES, what);
            byte[] payload = java.util.Arrays.copyOfRange(checkpoint.headerRecord(), RecordHeader.BYTES,
                    checkpoint.headerRecord().length);
            rh.verify(checkpoint.headerRecord(), payload, what);
            ImageHeader header = ImageHeader.fromPayload(rh, payload);
            BlockDevice device = source.device();
            if (!checkpoint.imageId().equals(imageId) || !header.imageId().equals(imageId)) {
                throw new BackupException(BackupError.NO_CHECKPOINT, what + " names image " + checkpoint.imageId());
            }
            if (!header.snapshotToken().equals(source.snapshotToken()) || !header.sourceVolumeId().equals(source.volumeId())
                    || header.blockSize() != device.blockSize() || header.blockCount() != device.blockCount()) {
                throw new BackupException(BackupError.SOURCE_CHANGED, "image " + imageId + " was reading snapshot '"
                        + header.snapshotToken() + "' of volume " + header.sourceVolumeId() + " (" + header.blockCount() + " x "
                        + header.blockSize() + " B); the source is snapshot '" + source.snapshotToken() + "' of volume "
                        + source.volumeId() + " (" + device.geometry() + ")");
            }
            if (header.version() != ArchiveLayout.FORMAT_VERSION) {
                throw new BackupException(BackupError.NO_CHECKPOINT, what + " was written for format version "
                        + header.version() + "; this build writes version " + ArchiveLayout.FORMAT_VERSION
                        + ": start a new backup");
            }
            if (options.password() != null && !header.encrypted()) {
                throw new BackupException(BackupError.NOT_ENCRYPTED, "interrupted backup " + imageId + " is not encrypted, "
                        + "but a password was given: refused (resuming would finish an unencrypted image)");
            }
            ImageKeys keys = header.encrypted() ? ImageKeys.open(options.password(), header) : null;
            if (keys != null) {
                header.authenticate(checkpoint.headerRecord(), keys);
            }
            List<Extent> all = device.blockCount() == 0 ? List.of() : List.of(new Extent(0, device.blockCount()));
            List<Extent> covered = all;
            List<Extent> scan;
            if (header.incremental()) {
                List<Extent> changed = source.changedExtentsSince(header.baseSnapshotToken());
                if (changed == null) {
                    throw new BackupException(BackupError.CHANGED_BLOCKS_UNKNOWN, "source " + source.volumeId()
                            + " cannot list the blocks changed since snapshot '" + header.baseSnapshotToken() + "'");
                }
                covered = ExtentRuns.normalize(changed, device.blockCount());
                scan = covered;
            } else {
                List<Extent> used = source.usedExtents();
                scan = used == null ? all : ExtentRuns.normalize(used, device.blockCount());
            }
            List<Extent> data = SourceAllocation.dataExtents(device, scan, bridgeBlocks(header.blockSize()));
            long skippedBytes = (ExtentRuns.blocks(scan) - ExtentRuns.blocks(data)) * header.blockSize();
            scan = data;
            BackupOptions effective = options.withChunkSizeBytes(header.chunkSizeBytes())
                    .withCompressionLevel(header.compressionLevel());
            BackupRun run = new BackupRun(source, target, effective, header, checkpoint.headerRecord(), keys, covered, scan,
                    checkpoint.entries(), checkpoint.stored(), checkpoint.scannedBytes(), skippedBytes);
            return run.runResumed(checkpoint);
        } finally {
            source.release();
        }
    }

    private static long bridgeBlocks(int blockSize) {
        return Math.max(1, SourceAllocation.BRIDGE_BYTES / blockSize);
    }

    /**
     * Opens and checks the base of an incremental, {@link BackupOptions#baseImageId()}, with the
     * backup's password (an unencrypted base is {@code NOT_ENCRYPTED} when one is given): header and
     * image MACs, whole-image hash (what {@code BackupEngine.checkBase} runs, before a caller has a
     * volume). The volume is checked by {@link AcceptedBase#checkVolume}; the source's snapshot
     * lineage by the source itself (it must know the base's snapshot token,
     * {@code CHANGED_BLOCKS_UNKNOWN} otherwise).
     */
    public static AcceptedBase openBase(BackupTarget target, BackupOptions options) {
        if (options.baseImageId() == null) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "the options name no base image");
        }
        try (OpenedImage base = OpenedImage.open(target, options.baseImageId(), options.password())) {
            return new AcceptedBase(base.info(), base.trailer.imageSha256(), options.password());
        }
    }

    /**
     * The base a backup records: {@code checked} (from {@link #openBase} with these options) if given,
     * else opened now; in both cases checked against the source's volume before anything is written.
     */
    private static AcceptedBase base(BackupTarget target, BackupOptions options, BackupSource source, CheckedBase checked) {
        AcceptedBase base;
        if (checked == null) {
            base = openBase(target, options);
        } else {
            if (!(checked instanceof AcceptedBase accepted)) {
                throw new BackupException(BackupError.INVALID_ARGUMENT, "the checked base " + checked.getClass().getName()
                        + " was not made by BackupEngine.checkBase");
            }
            if (!accepted.info().imageId().equals(options.baseImageId())) {
                throw new BackupException(BackupError.INVALID_ARGUMENT, "the checked base is image "
                        + accepted.info().imageId() + ", the options name base " + options.baseImageId());
            }
            if (!accepted.openedWith(options.password())) {
                throw new BackupException(BackupError.INVALID_ARGUMENT, "the checked base " + accepted.info().imageId()
                        + " was opened with another password than the options': a chain is restored with one password");
            }
            base = accepted;
        }
        base.checkVolume(source.volumeId(), source.device().geometry());
        return base;
    }

    /** A random (SecureRandom-backed) UUID, or a deterministic one from a simulation seed. */
    static String newImageId(Long simulationSeed) {
        if (simulationSeed == null) {
            return UUID.randomUUID().toString(); // type 4, from SecureRandom
        }
        java.util.Random random = new java.util.Random(simulationSeed);
        long most = (random.nextLong() & ~0xF000L) | 0x4000L;
        long least = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
        return new UUID(most, least).toString();
    }

    static void checkImageId(String imageId) {
        if (imageId == null || !IMAGE_ID.matcher(imageId).matches()) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "image id '" + imageId
                    + "' must be 1-128 characters of [A-Za-z0-9._-] starting with a letter or digit");
        }
    }

    private BackupResult runFresh() {
        target.deleteCheckpoint(BackupCheckpoint.blobName(header.imageId()));
        writer = target.createImage(header.imageId());
        try {
            writer.write(ByteBuffer.wrap(headerRecord));
            writer.recordBoundary();
            return runFrom(0);
        } finally {
            writer.close();
        }
    }

    private BackupResult runResumed(BackupCheckpoint checkpoint) {
        writer = target.resumeImage(header.imageId(), checkpoint.durableLength(), checkpoint.writerState());
        try {
            long expectedEnd = entries.isEmpty() ? headerRecord.length : entries.get(entries.size() - 1).end();
            if (writer.position() != expectedEnd) {
                throw new BackupException(BackupError.NO_CHECKPOINT, "partial image " + header.imageId() + " has "
                        + writer.position() + " bytes, the checkpoint expects " + expectedEnd);
            }
            lastSequence = checkpoint.nextSequence() - 1;
            return runFrom(checkpoint.nextSequence());
        } finally {
            writer.close();
        }
    }

    private BackupResult runFrom(long startSequence) {
        BlockDevice device = source.device();
        int blockSize = header.blockSize();
        byte[] noncePrefix = ChunkCodec.newNoncePrefix();
        ChunkWindows windows = new ChunkWindows(scan, header.chunkBlocks(), startSequence);
        try (PhaseTrace.Span span = PhaseTrace.begin("backup: chunks (read, compress, encrypt, write)");
             Workers<EncodedChunk> workers = new Workers<>("backup", options.threads(), header.chunkSizeBytes(),
                () -> new ChunkCodec(blockSize, header.compressionLevel(), keys, header.imageId(), noncePrefix))) {
            ChunkWindows.Window window = windows.next();
            while (window != null || workers.hasInFlight()) {
                ChunkSlot slot = window != null ? workers.freeSlot() : null;
                if (slot == null) {
                    EncodedChunk done = workers.next();
                    append(done);
                    workers.release(done.slot());
                    continue;
                }
                slot.sequence = window.sequence();
                slot.pieces = window.pieces();
                // the worker reads its window itself (BlockDevice reads are safe from several threads), so
                // reading the source, zero detection, compression, encryption and hashing all run on every
                // core; this thread only hands out windows and appends the results in window order
                workers.submit(slot, codec -> s -> {
                    int offset = 0;
                    for (Extent piece : s.pieces) {
                        readSource(device, piece, s.input, offset);
                        offset += (int) piece.blockCount() * blockSize;
                    }
                    s.inputLength = offset;
                    return codec.encode(s);
                });
                window = windows.next();
            }
        }
        return finish();
    }

    private static void readSource(BlockDevice device, Extent piece, ByteBuffer buffer, int offset) {
        try {
            device.read(piece.lba(), (int) piece.blockCount(), buffer, offset);
        } catch (CoreException e) {
            throw new BackupException(BackupError.SOURCE_IO, "reading blocks " + piece + " of source " + device.name()
                    + " failed: " + e.getMessage(), e);
        }
    }

    private void append(EncodedChunk chunk) {
        if (!chunk.isEmpty()) {
            long offset = writer.position();
            writer.write(ByteBuffer.wrap(chunk.headerRecord()));
            writer.write(chunk.stored().duplicate().limit(chunk.storedLength()).position(0));
            writer.recordBoundary();
            List<Extent> extents = chunk.extents();
            entries.add(new ChunkIndexEntry(offset, chunk.recordLength(), chunk.sequence(), extents.get(0).lba(),
                    extents.get(extents.size() - 1).endLba(), chunk.sha256()));
            stored.addAll(extents);
            bytesSinceCheckpoint += chunk.recordLength();
        }
        lastSequence = chunk.sequence();
        scannedBytes += chunk.scannedBytes();
        progress.add(chunk.scannedBytes());
        if (bytesSinceCheckpoint >= options.checkpointIntervalBytes()) {
            checkpoint();
        }
    }

    private void checkpoint() {
        try (PhaseTrace.Span span = PhaseTrace.begin("backup: checkpoint (image fsync, checkpoint record)")) {
            writeCheckpoint();
        }
    }

    private void writeCheckpoint() {
        writer.sync();
        long durable = writer.durableLength();
        if (durable < headerRecord.length) {
            return;
        }
        int k = entries.size();
        while (k > 0 && entries.get(k - 1).end() > durable) {
            k--;
        }
        List<ChunkIndexEntry> durableEntries = List.copyOf(entries.subList(0, k));
        long nextSequence;
        long scanned;
        List<Extent> storedSoFar = stored.build();
        if (k == entries.size()) {
            nextSequence = lastSequence + 1;
            scanned = scannedBytes;
        } else {
            nextSequence = k == 0 ? 0 : durableEntries.get(k - 1).sequence() + 1;
            long endLba = k == 0 ? 0 : durableEntries.get(k - 1).endLba();
            storedSoFar = ExtentRuns.subtract(storedSoFar, List.of(new Extent(endLba, Long.MAX_VALUE / 2)));
            scanned = 0;
        }
        long durableEnd = k == 0 ? headerRecord.length : durableEntries.get(k - 1).end();
        BackupCheckpoint checkpoint = new BackupCheckpoint(header.imageId(), header.snapshotToken(), durableEnd,
                writer.resumeState(), headerRecord, nextSequence, scanned, durableEntries, storedSoFar);
        target.writeCheckpoint(BackupCheckpoint.blobName(header.imageId()), checkpoint.toRecord());
        bytesSinceCheckpoint = 0;
    }

    private BackupResult finish() {
        try (PhaseTrace.Span span = PhaseTrace.begin("backup: extent map, trailer, sync, commit")) {
            return finishImage();
        }
    }

    private BackupResult finishImage() {
        List<Extent> storedExtents = stored.build();
        List<Extent> zeros = ExtentRuns.subtract(covered, storedExtents);
        byte[] mapRecord = new ExtentMap(covered, zeros).toRecord();
        long mapOffset = writer.position();
        writer.write(ByteBuffer.wrap(mapRecord));
        MessageDigest sha = ChunkCodec.newSha256();
        byte[] headerSha = sha.digest(headerRecord);
        byte[] whole = WholeImageHash.of(headerSha, entries, sha.digest(mapRecord));
        byte[] mac = keys != null ? keys.imageMac(whole, entries.size()) : new byte[ArchiveLayout.SHA256_BYTES];
        long storedBlocks = ExtentRuns.blocks(storedExtents);
        long zeroBlocks = ExtentRuns.blocks(zeros);
        long storedEnd = entries.isEmpty() ? 0 : entries.get(entries.size() - 1).endLba();
        byte[] trailerRecord = new Trailer(entries.size(), storedBlocks, zeroBlocks, storedEnd, mapOffset, mapRecord.length,
                whole, mac, entries).toRecord();
        long trailerOffset = writer.position();
        writer.write(ByteBuffer.wrap(trailerRecord));
        writer.write(ByteBuffer.wrap(new Locator(trailerOffset, trailerRecord.length).toRecord()));
        long size = writer.position();
        writer.sync();
        writer.commit();
        target.deleteCheckpoint(BackupCheckpoint.blobName(header.imageId()));
        ImageInfo info = new ImageInfo(header.imageId(), header.version(),
                Instant.ofEpochMilli(header.createdEpochMillis()), header.scemuVersion(), header.sourceVolumeId(),
                header.snapshotToken(), header.blockSize(), header.blockCount(), header.chunkSizeBytes(), header.userLabel(),
                header.incremental() ? header.baseImageId() : null, header.encrypted(), entries.size(), storedBlocks,
                zeroBlocks, storedEnd, size, HexFormat.of().formatHex(whole));
        progress.report();
        return new BackupResult(info, scannedBytes, progress.elapsed());
    }
}
