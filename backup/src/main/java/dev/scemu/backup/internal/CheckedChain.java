package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.CheckedImage;
import dev.scemu.backup.ImageInfo;
import dev.scemu.backup.ZeroPolicy;
import dev.scemu.core.Extent;
import java.util.ArrayList;
import java.util.List;

/**
 * A chain {@link RestoreRun#check} opened and checked, waiting for its destination: the opened
 * images (readers open) and, after the integrity pass, what it saw of each chunk record (the
 * decoding pass must find the same records). Idempotent close.
 */
public final class CheckedChain implements CheckedImage {

    private final BackupTarget target;
    private final ImageChain chain;
    private final long checkNanos;
    private List<ImageScanner.Authenticated> authenticated;
    private boolean closed;

    CheckedChain(BackupTarget target, ImageChain chain, List<ImageScanner.Authenticated> authenticated, long checkNanos) {
        this.target = target;
        this.chain = chain;
        this.authenticated = authenticated;
        this.checkNanos = checkNanos;
    }

    @Override
    public List<ImageInfo> chain() {
        return chain.infos();
    }

    @Override
    public boolean verified() {
        return authenticated != null;
    }

    @Override
    public List<Extent> restoreExtents(ZeroPolicy zeroPolicy) {
        java.util.Objects.requireNonNull(zeroPolicy, "zeroPolicy");
        List<Extent> touched = new ArrayList<>();
        for (OpenedImage image : images().images) {
            ExtentMap map = image.extentMap;
            touched.addAll(zeroPolicy == ZeroPolicy.SKIP ? ExtentRuns.subtract(map.covered(), map.zeros()) : map.covered());
        }
        return Extent.union(touched);
    }

    BackupTarget target() {
        return target;
    }

    /** The opened chain; {@code INVALID_ARGUMENT} once closed. */
    ImageChain images() {
        if (closed) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "the checked image " + chain.top().imageId
                    + " is closed");
        }
        return chain;
    }

    long checkNanos() {
        return checkNanos;
    }

    List<ImageScanner.Authenticated> authenticated() {
        return authenticated;
    }

    void authenticated(List<ImageScanner.Authenticated> result) {
        this.authenticated = result;
    }

    @Override
    public void close() {
        closed = true;
        chain.close();
    }
}
