package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.ImageInfo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * An image and its bases, opened and checked, base (full image) first. Idempotent close.
 *
 * <h2>Opening a chain</h2>
 * {@link #open} checks what opening the images one after the other with {@link OpenedImage#open}
 * checked, and reports the same first failure, but derives the images' keys concurrently:
 * <ol>
 *   <li><b>Walk</b> (calling thread): from the top image down, the key-free phase of each image
 *       ({@link UnkeyedImage}: locator, trailer, header, image id, {@code NOT_ENCRYPTED}); each
 *       header names the next base. Per base, in this order: the loop/depth check
 *       ({@code BASE_MISMATCH}), that it exists ({@code IMAGE_NOT_FOUND}, naming the image that
 *       wants it), its key-free phase, and that it is the base the image above was made on (volume,
 *       geometry, snapshot token, whole-image hash: {@code BASE_MISMATCH}). The walk stops at the
 *       first failure and keeps it for step 3: nothing read so far is authenticated, and the
 *       sequential open reported a failure of the images above (a wrong password, a changed
 *       header) first.</li>
 *   <li><b>Keys</b>: the keys of every image the walk read are derived concurrently
 *       ({@link ChainKeys}, one Argon2id per encrypted image).</li>
 *   <li><b>Checks</b> (calling thread), top image first: each image's keys (waiting for its
 *       derivation: {@code PASSWORD_REQUIRED}, {@code WRONG_PASSWORD}) and keyed phase
 *       ({@link OpenedImage#check}: header MAC, version, extent map, index, whole-image hash, image
 *       MAC); then the walk's failure, if any. A walk failure at base {@code k} is so reported after
 *       images {@code 0..k-1} (or {@code 0..k} for a base that is not the expected one) passed all
 *       their checks, where the sequential open reported it: the base's whole-image hash is trusted
 *       (compared) only once the base's own check recomputed it.</li>
 * </ol>
 * On any failure, and on an interrupt ({@code INTERRUPTED}, from the wait for a key), every
 * derivation thread has ended and every image reader opened is closed before {@link #open} throws.
 */
final class ImageChain implements AutoCloseable {

    private static final int MAX_DEPTH = 10_000;

    final List<OpenedImage> images;
    private boolean closed;

    private ImageChain(List<OpenedImage> images) {
        this.images = images;
    }

    static ImageChain open(BackupTarget target, String imageId, char[] password) {
        BackupRun.checkImageId(imageId);
        Walk walk = walk(target, imageId, password);
        List<UnkeyedImage> newestFirst = walk.newestFirst();
        List<OpenedImage> opened = new ArrayList<>();
        try (ChainKeys keys = ChainKeys.start(newestFirst.stream().map(i -> i.header).toList(), password)) {
            for (int i = 0; i < newestFirst.size(); i++) {
                opened.add(OpenedImage.check(newestFirst.get(i), keys.keys(i)));
            }
            if (walk.failure() != null) {
                throw walk.failure();
            }
        } catch (RuntimeException | Error e) { // the derivation threads have ended (keys closed)
            newestFirst.forEach(i -> i.reader.close());
            throw e;
        }
        Collections.reverse(opened);
        return new ImageChain(List.copyOf(opened));
    }

    /**
     * The images of a walk, top first, each through its key-free phase (readers open), and the
     * failure that stopped the walk (null if it reached a full image), to be thrown after they are
     * all checked.
     */
    private record Walk(List<UnkeyedImage> newestFirst, RuntimeException failure) {
    }

    /** Step 1 of {@link #open}: a failure of the top image is thrown at once, the others are kept. */
    private static Walk walk(BackupTarget target, String imageId, char[] password) {
        List<UnkeyedImage> newestFirst = new ArrayList<>();
        UnkeyedImage image = UnkeyedImage.open(target, imageId, password != null);
        newestFirst.add(image);
        Set<String> seen = new HashSet<>();
        seen.add(imageId);
        try {
            while (image.header.incremental()) {
                String baseId = image.header.baseImageId();
                if (!seen.add(baseId) || newestFirst.size() > MAX_DEPTH) {
                    throw new BackupException(BackupError.BASE_MISMATCH, "image " + image.imageId
                            + " has a base chain that loops or is deeper than " + MAX_DEPTH + " (base " + baseId + ")");
                }
                UnkeyedImage base;
                try {
                    base = UnkeyedImage.open(target, baseId, password != null);
                } catch (BackupException e) {
                    if (e.code() == BackupError.IMAGE_NOT_FOUND) {
                        throw new BackupException(BackupError.IMAGE_NOT_FOUND, "base image " + baseId + " of image "
                                + image.imageId + " is not on " + target.name(), e);
                    }
                    throw e;
                }
                newestFirst.add(base);
                checkBase(target, image, base);
                image = base;
            }
            return new Walk(newestFirst, null);
        } catch (RuntimeException e) {
            return new Walk(newestFirst, e);
        } catch (Error e) {
            newestFirst.forEach(i -> i.reader.close());
            throw e;
        }
    }

    /** That {@code base} is the image {@code image} was made on ({@code BASE_MISMATCH} otherwise). */
    private static void checkBase(BackupTarget target, UnkeyedImage image, UnkeyedImage base) {
        String baseId = base.imageId;
        ImageHeader h = image.header;
        ImageHeader b = base.header;
        if (!b.sourceVolumeId().equals(h.sourceVolumeId()) || b.blockSize() != h.blockSize()
                || b.blockCount() != h.blockCount() || !b.snapshotToken().equals(h.baseSnapshotToken())) {
            throw new BackupException(BackupError.BASE_MISMATCH, "image " + image.imageId + " expects base "
                    + baseId + " of volume " + h.sourceVolumeId() + " snapshot '" + h.baseSnapshotToken() + "' ("
                    + h.blockCount() + " x " + h.blockSize() + " B); the base is volume " + b.sourceVolumeId()
                    + " snapshot '" + b.snapshotToken() + "' (" + b.blockCount() + " x " + b.blockSize() + " B)");
        }
        if (h.version() >= 2 && !java.security.MessageDigest.isEqual(h.baseImageSha256(), base.trailer.imageSha256())) {
            throw new BackupException(BackupError.BASE_MISMATCH, "image " + image.imageId + " was made on base "
                    + baseId + " with whole-image hash " + java.util.HexFormat.of().formatHex(h.baseImageSha256())
                    + ", but the base on " + target.name() + " has " + java.util.HexFormat.of().formatHex(
                    base.trailer.imageSha256()) + ": another image under the same id (replaced base?)");
        }
    }

    OpenedImage top() {
        return images.get(images.size() - 1);
    }

    List<ImageInfo> infos() {
        return images.stream().map(OpenedImage::info).toList();
    }

    long storedEndLba() {
        return images.stream().mapToLong(i -> i.trailer.storedEndLba()).max().orElse(0);
    }

    long storedBytes(int fromIndex) {
        long sum = 0;
        for (int i = fromIndex; i < images.size(); i++) {
            sum += images.get(i).trailer.storedBlockCount() * images.get(i).header.blockSize();
        }
        return sum;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            images.forEach(OpenedImage::close);
        }
    }
}
