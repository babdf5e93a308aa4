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

/** An image and its bases, opened and checked, base (full image) first. Idempotent close. */
final class ImageChain implements AutoCloseable {

    private static final int MAX_DEPTH = 10_000;

    final List<OpenedImage> images;
    private boolean closed;

    private ImageChain(List<OpenedImage> images) {
        this.images = images;
    }

    static ImageChain open(BackupTarget target, String imageId, char[] password) {
        BackupRun.checkImageId(imageId);
        List<OpenedImage> newestFirst = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        try {
            OpenedImage image = OpenedImage.open(target, imageId, password);
            newestFirst.add(image);
            seen.add(imageId);
            while (image.header.incremental()) {
                String baseId = image.header.baseImageId();
                if (!seen.add(baseId) || newestFirst.size() > MAX_DEPTH) {
                    throw new BackupException(BackupError.BASE_MISMATCH, "image " + image.imageId
                            + " has a base chain that loops or is deeper than " + MAX_DEPTH + " (base " + baseId + ")");
                }
                OpenedImage base;
                try {
                    base = OpenedImage.open(target, baseId, password);
                } catch (BackupException e) {
                    if (e.code() == BackupError.IMAGE_NOT_FOUND) {
                        throw new BackupException(BackupError.IMAGE_NOT_FOUND, "base image " + baseId + " of image "
                                + image.imageId + " is not on " + target.name(), e);
                    }
                    throw e;
                }
                newestFirst.add(base);
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
                image = base;
            }
        } catch (RuntimeException e) {
            newestFirst.forEach(OpenedImage::close);
            throw e;
        }
        Collections.reverse(newestFirst);
        return new ImageChain(List.copyOf(newestFirst));
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
