package dev.scemu.backup;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** A target that counts how often each image is opened for reading; everything else is the delegate's. */
final class CountingTarget implements BackupTarget {

    private final BackupTarget delegate;
    private final Map<String, AtomicInteger> opens = new ConcurrentHashMap<>();

    CountingTarget(BackupTarget delegate) {
        this.delegate = delegate;
    }

    /** How often {@code imageId} was opened for reading so far. */
    int opens(String imageId) {
        AtomicInteger count = opens.get(imageId);
        return count == null ? 0 : count.get();
    }

    @Override
    public String name() {
        return "counting(" + delegate.name() + ")";
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
        opens.computeIfAbsent(imageId, id -> new AtomicInteger()).incrementAndGet();
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
