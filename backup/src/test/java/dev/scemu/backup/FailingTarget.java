package dev.scemu.backup;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/** Delegates to a target, but its image writers fail once {@code failAfterBytes} bytes were appended. */
final class FailingTarget implements BackupTarget {

    private final BackupTarget delegate;
    private final long failAfterBytes;

    FailingTarget(BackupTarget delegate, long failAfterBytes) {
        this.delegate = delegate;
        this.failAfterBytes = failAfterBytes;
    }

    @Override
    public String name() {
        return "failing(" + delegate.name() + ")";
    }

    @Override
    public ImageWriter createImage(String imageId) {
        return new Failing(delegate.createImage(imageId));
    }

    @Override
    public ImageWriter resumeImage(String imageId, long durableLength, String resumeState) {
        return new Failing(delegate.resumeImage(imageId, durableLength, resumeState));
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

    private final class Failing implements ImageWriter {
        private final ImageWriter inner;

        Failing(ImageWriter inner) {
            this.inner = inner;
        }

        @Override
        public void write(ByteBuffer bytes) {
            if (inner.position() + bytes.remaining() > failAfterBytes) {
                throw new BackupException(BackupError.TARGET_IO, "injected target failure at " + inner.position());
            }
            inner.write(bytes);
        }

        @Override
        public void recordBoundary() {
            inner.recordBoundary();
        }

        @Override
        public long position() {
            return inner.position();
        }

        @Override
        public void sync() {
            inner.sync();
        }

        @Override
        public long durableLength() {
            return inner.durableLength();
        }

        @Override
        public String resumeState() {
            return inner.resumeState();
        }

        @Override
        public void commit() {
            inner.commit();
        }

        @Override
        public void abort() {
            inner.abort();
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
