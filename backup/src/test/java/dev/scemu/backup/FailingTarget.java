package dev.scemu.backup;

import java.nio.ByteBuffer;

/** Delegates to a target, but its image writers fail once {@code failAfterBytes} bytes were appended. */
final class FailingTarget extends ForwardingTarget {

    private final long failAfterBytes;

    FailingTarget(BackupTarget delegate, long failAfterBytes) {
        super(delegate);
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
