package dev.scemu.backup;

import java.util.List;
import java.util.Optional;

/** A target that forwards every call to {@code delegate}: tests override what they watch or break. */
public abstract class ForwardingTarget implements BackupTarget {

    protected final BackupTarget delegate;

    protected ForwardingTarget(BackupTarget delegate) {
        this.delegate = delegate;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public ImageWriter createImage(String imageId) {
        return delegate.createImage(imageId);
    }

    @Override
    public ImageWriter resumeImage(String imageId, long durableLength, String resumeState) {
        return delegate.resumeImage(imageId, durableLength, resumeState);
    }

    @Override
    public ImageReader openImage(String imageId) {
        return delegate.openImage(imageId);
    }

    @Override
    public boolean exists(String imageId) {
        return delegate.exists(imageId);
    }

    @Override
    public List<String> list() {
        return delegate.list();
    }

    @Override
    public void delete(String imageId) {
        delegate.delete(imageId);
    }

    @Override
    public void writeCheckpoint(String name, byte[] bytes) {
        delegate.writeCheckpoint(name, bytes);
    }

    @Override
    public Optional<byte[]> readCheckpoint(String name) {
        return delegate.readCheckpoint(name);
    }

    @Override
    public void deleteCheckpoint(String name) {
        delegate.deleteCheckpoint(name);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
