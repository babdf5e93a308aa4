package dev.scemu.backup.internal;

import dev.scemu.backup.BackupEngine;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupOptions;
import dev.scemu.backup.BackupSource;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.KdfParameters;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.Media;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * Image chains for the chain-open tests: a full image and incrementals of one small in-memory
 * volume, a target counting its readers, byte edits of stored images, and the sequential chain open
 * {@link ImageChain#open} replaced (the reference its errors are compared with).
 */
final class TestChains {

    static final int BLOCK = 4096;
    static final int BLOCKS = 64;
    static final int CHUNK = 16 * BLOCK;

    private TestChains() {
    }

    /**
     * Backs up {@code images} images {@code prefix-0} (full) to {@code prefix-(images-1)} of one
     * volume to {@code target}, changing a few blocks between them; returns the volume's bytes at
     * each image. Unencrypted when {@code password} is null.
     */
    static List<byte[]> make(BackupTarget target, String prefix, int images, long seed, String volumeId,
                             char[] password, KdfParameters kdf) {
        Random random = new Random(seed);
        Map<String, TreeSet<Long>> changedSince = new HashMap<>();
        List<byte[]> states = new ArrayList<>();
        try (BlockDevice volume = Media.memory(prefix + "-vol", new BlockGeometry(BLOCK, BLOCKS))) {
            for (long lba = 0; lba < BLOCKS; lba += 2) {
                write(volume, lba, random);
            }
            for (int i = 0; i < images; i++) {
                if (i > 0) {
                    for (int n = 0; n < 6; n++) {
                        long lba = random.nextInt(BLOCKS);
                        write(volume, lba, random);
                        changedSince.values().forEach(s -> s.add(lba));
                    }
                }
                String token = "t" + i;
                changedSince.put(token, new TreeSet<>());
                BackupSource source = BackupSource.builder(volume).volumeId(volumeId).snapshotToken(token)
                        .changedExtents(base -> changedSince.containsKey(base)
                                ? changedSince.get(base).stream().map(lba -> new Extent(lba, 1)).toList() : null)
                        .build();
                BackupOptions options = BackupOptions.defaults().withImageId(prefix + "-" + i).withChunkSizeBytes(CHUNK)
                        .withThreads(1).withKdf(kdf).withPassword(password);
                if (i > 0) {
                    options = options.withBase(prefix + "-" + (i - 1));
                }
                BackupEngine.backup(source, target, options);
                states.add(content(volume));
            }
        }
        return states;
    }

    private static void write(BlockDevice volume, long lba, Random random) {
        byte[] block = new byte[BLOCK];
        random.nextBytes(block);
        volume.write(lba, 1, ByteBuffer.allocateDirect(BLOCK).put(block).flip(), 0);
    }

    static byte[] content(BlockDevice device) {
        byte[] all = new byte[(int) (device.blockCount() * device.blockSize())];
        device.read(0, (int) device.blockCount(), ByteBuffer.wrap(all), 0);
        return all;
    }

    /** The sequential chain open {@link ImageChain#open} did before its keys were derived concurrently. */
    static List<OpenedImage> openSequentially(BackupTarget target, String imageId, char[] password) {
        List<OpenedImage> newestFirst = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        try {
            OpenedImage image = OpenedImage.open(target, imageId, password);
            newestFirst.add(image);
            seen.add(imageId);
            while (image.header.incremental()) {
                String baseId = image.header.baseImageId();
                if (!seen.add(baseId) || newestFirst.size() > 10_000) {
                    throw new BackupException(dev.scemu.backup.BackupError.BASE_MISMATCH, "image " + image.imageId
                            + " has a base chain that loops or is deeper than 10000 (base " + baseId + ")");
                }
                OpenedImage base;
                try {
                    base = OpenedImage.open(target, baseId, password);
                } catch (BackupException e) {
                    if (e.code() == dev.scemu.backup.BackupError.IMAGE_NOT_FOUND) {
                        throw new BackupException(dev.scemu.backup.BackupError.IMAGE_NOT_FOUND, "base image " + baseId
                                + " of image " + image.imageId + " is not on " + target.name(), e);
                    }
                    throw e;
                }
                newestFirst.add(base);
                ImageHeader h = image.header;
                ImageHeader b = base.header;
                if (!b.sourceVolumeId().equals(h.sourceVolumeId()) || b.blockSize() != h.blockSize()
                        || b.blockCount() != h.blockCount() || !b.snapshotToken().equals(h.baseSnapshotToken())) {
                    throw new BackupException(dev.scemu.backup.BackupError.BASE_MISMATCH, "image " + image.imageId
                            + " expects base " + baseId + " of volume " + h.sourceVolumeId() + " snapshot '"
                            + h.baseSnapshotToken() + "' (" + h.blockCount() + " x " + h.blockSize() + " B); the base is volume "
                            + b.sourceVolumeId() + " snapshot '" + b.snapshotToken() + "' (" + b.blockCount() + " x "
                            + b.blockSize() + " B)");
                }
                if (h.version() >= 2 && !MessageDigest.isEqual(h.baseImageSha256(), base.trailer.imageSha256())) {
                    throw new BackupException(dev.scemu.backup.BackupError.BASE_MISMATCH, "image " + image.imageId
                            + " was made on base " + baseId + " with whole-image hash "
                            + java.util.HexFormat.of().formatHex(h.baseImageSha256()) + ", but the base on " + target.name()
                            + " has " + java.util.HexFormat.of().formatHex(base.trailer.imageSha256())
                            + ": another image under the same id (replaced base?)");
                }
                image = base;
            }
        } catch (RuntimeException e) {
            newestFirst.forEach(OpenedImage::close);
            throw e;
        }
        return newestFirst;
    }

    // ---- edits of stored images (offsets as in docs/backup-format.md) ----

    static void edit(Path image, Consumer<ByteBuffer> change) {
        try {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(image)).order(ByteOrder.LITTLE_ENDIAN);
            change.accept(b);
            Files.write(image, b.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Flips a byte of the header's payload without repairing anything: the header's CRC-32C fails. */
    static void breakHeaderCrc(ByteBuffer b) {
        b.put(20, (byte) (b.get(20) ^ 1));
    }

    /** Flips a bit of the image MAC in the trailer and repairs the trailer's CRC: only the keyed check sees it. */
    static void breakImageMac(ByteBuffer b) {
        int trailer = trailerOffset(b);
        int mac = trailer + 16 + 76;
        b.put(mac, (byte) (b.get(mac) ^ 1));
        reseal(b, trailer, trailerLength(b));
    }

    /**
     * Changes the header's creation time and repairs everything unkeyed (header CRC, whole-image
     * hash, trailer CRC): only the header MAC sees it.
     */
    static void forgeHeaderField(ByteBuffer b) {
        int createdAt = 16 + 2 + (b.getShort(16) & 0xFFFF); // after the imageId string
        b.put(createdAt, (byte) (b.get(createdAt) ^ 1));
        int headerLength = b.getInt(8); // the record length, header included
        reseal(b, 0, headerLength);
        byte[] bytes = b.array();
        int trailer = trailerOffset(b);
        int t = trailer + 16;
        long chunkCount = b.getLong(t);
        int mapOffset = (int) b.getLong(t + 32);
        int mapLength = b.getInt(t + 40);
        MessageDigest whole = sha256();
        whole.update(sha256().digest(Arrays.copyOfRange(bytes, 0, headerLength)));
        for (int i = 0; i < chunkCount; i++) {
            whole.update(bytes, t + 108 + i * 68 + 36, 32);
        }
        whole.update(sha256().digest(Arrays.copyOfRange(bytes, mapOffset, mapOffset + mapLength)));
        b.put(t + 44, whole.digest());
        reseal(b, trailer, trailerLength(b));
    }

    private static int trailerOffset(ByteBuffer b) {
        return (int) b.getLong(b.capacity() - 28 + 16);
    }

    private static int trailerLength(ByteBuffer b) {
        return b.getInt(b.capacity() - 28 + 24);
    }

    private static void reseal(ByteBuffer b, int offset, int length) {
        b.putInt(offset + 12, 0);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), offset, length);
        b.putInt(offset + 12, (int) crc.getValue());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
