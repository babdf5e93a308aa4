package dev.scemu.backup;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A target that counts the image readers it opened (in all and per image) and closed (each reader's
 * close counted once); everything else, its name too, is the delegate's. A subclass may act before
 * each read ({@link #beforeRead}).
 */
public class CountingTarget extends ForwardingTarget {

    private final Map<String, AtomicInteger> opensById = new ConcurrentHashMap<>();
    private final AtomicInteger opened = new AtomicInteger();
    private final AtomicInteger closed = new AtomicInteger();

    public CountingTarget(BackupTarget delegate) {
        super(delegate);
    }

    /** Readers opened so far, of any image. */
    public int opened() {
        return opened.get();
    }

    /** How often {@code imageId} was opened for reading so far. */
    public int opens(String imageId) {
        AtomicInteger count = opensById.get(imageId);
        return count == null ? 0 : count.get();
    }

    /** Readers opened and not closed. */
    public int open() {
        return opened.get() - closed.get();
    }

    /** Runs on the reading thread before each read of an image reader this target opened; nothing here. */
    protected void beforeRead(long offset, ByteBuffer dst) {
    }

    @Override
    public ImageReader openImage(String imageId) {
        ImageReader inner = delegate.openImage(imageId);
        opened.incrementAndGet();
        opensById.computeIfAbsent(imageId, id -> new AtomicInteger()).incrementAndGet();
        return new ImageReader() {
            private boolean done;

            @Override
            public long size() {
                return inner.size();
            }

            @Override
            public void read(long offset, ByteBuffer dst) {
                beforeRead(offset, dst);
                inner.read(offset, dst);
            }

            @Override
            public synchronized void close() {
                if (!done) {
                    done = true;
                    closed.incrementAndGet();
                    inner.close();
                }
            }
        };
    }
}
