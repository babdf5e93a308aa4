package dev.scemu.nbd;

import dev.scemu.core.ForwardingBlockDevice;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;

/** Servers and devices created by a test, closed after it; byte-level helpers. */
abstract class NbdTestSupport {

    static final int BLOCK_BYTES = 4096;
    static final long BLOCKS = 256; // 1 MiB

    private final List<AutoCloseable> resources = new ArrayList<>();

    <T extends AutoCloseable> T track(T resource) {
        resources.add(resource);
        return resource;
    }

    @AfterEach
    void closeResources() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
        resources.clear();
    }

    BlockDevice memory(String name) {
        return track(dev.scemu.core.Media.memory(name, new BlockGeometry(BLOCK_BYTES, BLOCKS)));
    }

    NbdServer.Builder loopback() {
        return NbdServer.builder().bindTcp(InetAddress.getLoopbackAddress(), 0);
    }

    NbdServer start(NbdServer.Builder builder) {
        return track(builder.start());
    }

    NbdTestClient client(NbdServer server, String export) throws Exception {
        return track(NbdTestClient.open(server.port(), export, false));
    }

    NbdTestClient structuredClient(NbdServer server, String export) throws Exception {
        return track(NbdTestClient.open(server.port(), export, true));
    }

    /**
     * Waits until {@code condition} holds (server state such as open connections, checked every few
     * milliseconds), failing with {@code what} after {@code timeoutMillis}.
     */
    static void awaitState(BooleanSupplier condition, String what, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeoutMillis + " ms waiting for: " + what);
            }
            Thread.sleep(2);
        }
    }

    static byte[] random(long seed, int length) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** Reads bytes {@code [offset, offset + length)} straight from a device. */
    static byte[] deviceBytes(BlockDevice device, long offset, int length) {
        int blockBytes = device.blockSize();
        long firstLba = offset / blockBytes;
        long endLba = (offset + length + blockBytes - 1) / blockBytes;
        ByteBuffer buffer = ByteBuffer.allocateDirect((int) ((endLba - firstLba) * blockBytes));
        device.read(firstLba, (int) (endLba - firstLba), buffer, 0);
        byte[] bytes = new byte[length];
        buffer.get((int) (offset - firstLba * blockBytes), bytes);
        return bytes;
    }

    static void writeDevice(BlockDevice device, long lba, byte[] blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks.length).put(blocks);
        device.write(lba, blocks.length / device.blockSize(), buffer, 0, true);
    }

    /** A memory device whose reads of one block wait until the test opens the gate. */
    static final class GatedDevice extends ForwardingBlockDevice {
        private final long gatedLba;
        final CountDownLatch gate = new CountDownLatch(1);
        final CountDownLatch gatedReadStarted = new CountDownLatch(1);
        /** Reads of the gated block started (waiting at the gate or through it). */
        final java.util.concurrent.atomic.AtomicInteger gatedReads = new java.util.concurrent.atomic.AtomicInteger();

        GatedDevice(BlockDevice inner, long gatedLba) {
            super(inner.name() + "-gated", inner, false);
            this.gatedLba = gatedLba;
        }

        @Override
        protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
            if (lba <= gatedLba && gatedLba < lba + blockCount) {
                gatedReads.incrementAndGet();
                gatedReadStarted.countDown();
                try {
                    if (!gate.await(20, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("gate never opened");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
            inner().read(lba, blockCount, buffer, bufferOffset);
        }

        @Override
        protected void doClose() {
            gate.countDown();
        }
    }
}
