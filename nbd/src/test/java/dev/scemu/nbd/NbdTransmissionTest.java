package dev.scemu.nbd;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_FUA;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_NO_HOLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_EINVAL;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_EIO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_ENOSPC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_EPERM;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_CAN_MULTI_CONN;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_HAS_FLAGS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_READ_ONLY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_FLUSH;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_FUA;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_TRIM;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_WRITE_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_ERROR;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_NONE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_OFFSET_DATA;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.PowerCutMode;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class NbdTransmissionTest extends NbdTestSupport {

    @Test
    void writtenBlocksReadBackThroughNbdAndOnTheDevice() throws Exception {
        BlockDevice disk = memory("disk");
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = client(server, "disk");
        byte[] data = random(1, 3 * BLOCK_BYTES);

        assertThat(client.write(5L * BLOCK_BYTES, data, 0)).isZero();

        assertThat(client.read(5L * BLOCK_BYTES, data.length)).isEqualTo(data);
        assertThat(deviceBytes(disk, 5L * BLOCK_BYTES, data.length)).isEqualTo(data);
        assertThat(client.exportSizeBytes).isEqualTo(BLOCKS * BLOCK_BYTES);
        assertThat(client.transmissionFlags).isEqualTo(NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA
                | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_CAN_MULTI_CONN
                | dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_CACHE
                | dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_FAST_ZERO);
    }

    @Test
    void fuaWriteIsDurableWhenAnsweredAndFlushMakesEarlierWritesDurable() throws Exception {
        FaultInjectingDevice disk = track(new FaultInjectingDevice(memory("disk"), 7));
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = client(server, "disk");
        byte[] cached = random(2, BLOCK_BYTES);
        byte[] durable = random(3, BLOCK_BYTES);

        assertThat(client.write(0, cached, 0)).isZero();
        assertThat(disk.unflushedBlockCount()).isEqualTo(1);
        assertThat(client.write(BLOCK_BYTES, durable, NBD_CMD_FLAG_FUA)).isZero();
        assertThat(disk.unflushedBlockCount()).isEqualTo(1);

        disk.cutPower(PowerCutMode.DROP_UNFLUSHED);
        disk.restorePower();
        assertThat(client.read(0, BLOCK_BYTES)).isEqualTo(new byte[BLOCK_BYTES]);
        assertThat(client.read(BLOCK_BYTES, BLOCK_BYTES)).isEqualTo(durable);

        assertThat(client.write(0, cached, 0)).isZero();
        assertThat(client.flush()).isZero();
        assertThat(disk.unflushedBlockCount()).isZero();
        disk.cutPower(PowerCutMode.DROP_UNFLUSHED);
        disk.restorePower();
        assertThat(client.read(0, BLOCK_BYTES)).isEqualTo(cached);
    }

    @Test
    void trimmedBlocksReadAsZeros() throws Exception {
        BlockDevice disk = memory("disk");
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = client(server, "disk");
        byte[] data = random(4, 4 * BLOCK_BYTES);
        client.write(0, data, 0);

        assertThat(client.trim(BLOCK_BYTES, 2L * BLOCK_BYTES, 0)).isZero();

        byte[] back = client.read(0, data.length);
        assertThat(java.util.Arrays.copyOfRange(back, BLOCK_BYTES, 3 * BLOCK_BYTES))
                .isEqualTo(new byte[2 * BLOCK_BYTES]);
        assertThat(java.util.Arrays.copyOfRange(back, 0, BLOCK_BYTES))
                .isEqualTo(java.util.Arrays.copyOfRange(data, 0, BLOCK_BYTES));
        assertThat(java.util.Arrays.copyOfRange(back, 3 * BLOCK_BYTES, 4 * BLOCK_BYTES))
                .isEqualTo(java.util.Arrays.copyOfRange(data, 3 * BLOCK_BYTES, 4 * BLOCK_BYTES));
    }

    @Test
    void writeZeroesZeroesExactlyTheRangeWithAndWithoutNoHole() throws Exception {
        BlockDevice disk = memory("disk");
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = client(server, "disk");
        byte[] data = random(5, 8 * BLOCK_BYTES);
        client.write(0, data, 0);
        long before = disk.meter().snapshot().receivedWrite().bytes();

        // aligned, may trim
        assertThat(client.writeZeroes(0, 2L * BLOCK_BYTES, 0)).isZero();
        // unaligned with NO_HOLE: zeros must be written, neighbours kept
        assertThat(client.writeZeroes(3L * BLOCK_BYTES + 100, 2L * BLOCK_BYTES + 7, NBD_CMD_FLAG_NO_HOLE)).isZero();
        // inside one block, with FUA
        assertThat(client.writeZeroes(7L * BLOCK_BYTES + 10, 20, NBD_CMD_FLAG_FUA)).isZero();

        byte[] expected = data.clone();
        java.util.Arrays.fill(expected, 0, 2 * BLOCK_BYTES, (byte) 0);
        java.util.Arrays.fill(expected, 3 * BLOCK_BYTES + 100, 5 * BLOCK_BYTES + 107, (byte) 0);
        java.util.Arrays.fill(expected, 7 * BLOCK_BYTES + 10, 7 * BLOCK_BYTES + 30, (byte) 0);
        assertThat(client.read(0, expected.length)).isEqualTo(expected);
        assertThat(deviceBytes(disk, 0, expected.length)).isEqualTo(expected);
        // NO_HOLE wrote the full block in the middle (4) as data: more bytes written than the edges alone
        assertThat(disk.meter().snapshot().receivedWrite().bytes() - before).isGreaterThanOrEqualTo(3L * BLOCK_BYTES);
        assertThat(server.stats().zeroedBytes()).isEqualTo(2L * BLOCK_BYTES + 2L * BLOCK_BYTES + 7 + 20);
    }

    @Test
    void pipelinedRequestsCompleteOutOfOrderAndAreMatchedByHandle() throws Exception {
        GatedDevice disk = track(new GatedDevice(memory("disk"), 0));
        byte[] first = random(6, BLOCK_BYTES);
        byte[] second = random(7, BLOCK_BYTES);
        writeDevice(disk, 0, first);
        writeDevice(disk, 1, second);
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = client(server, "disk");

        client.send(NBD_CMD_READ, 0, 100, 0, BLOCK_BYTES, null);
        client.send(NBD_CMD_READ, 0, 200, BLOCK_BYTES, BLOCK_BYTES, null);
        client.flushOutput();

        NbdTestClient.Reply early = client.receive();
        assertThat(early.handle()).isEqualTo(200);
        assertThat(early.data()).isEqualTo(second);
        disk.gate.countDown();
        NbdTestClient.Reply late = client.receive();
        assertThat(late.handle()).isEqualTo(100);
        assertThat(late.data()).isEqualTo(first);
    }

    /** Records the name of the thread of every write. */
    private static final class ThreadRecordingDevice extends dev.scemu.core.ForwardingBlockDevice {
        final java.util.List<String> writerThreads = java.util.Collections.synchronizedList(new java.util.ArrayList<>());

        ThreadRecordingDevice(BlockDevice inner) {
            super(inner.name(), inner, true);
        }

        @Override
        protected void doWrite(long lba, int blockCount, java.nio.ByteBuffer buffer, int bufferOffset, boolean fua) {
            writerThreads.add(Thread.currentThread().getName());
            inner().write(lba, blockCount, buffer, bufferOffset, fua);
        }
    }

    /**
     * Every request is executed on a thread of its own connection (named after it: {@code nbd-N},
     * {@code nbd-N-k}), never on a shared pool: a client at queue depth 1 settles on one thread
     * that reads, executes and answers each request (it keeps the read role once its requests come
     * alone), and a pipelined burst runs on several threads of the connection at once.
     */
    @Test
    void requestsAreExecutedByTheirConnectionsOwnThreadsAndALoneClientByOne() throws Exception {
        ThreadRecordingDevice disk = track(new ThreadRecordingDevice(memory("disk")));
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = client(server, "disk");
        int lone = 40;
        for (int i = 0; i < lone; i++) {
            assertThat(client.write((long) i * BLOCK_BYTES, random(10 + i, BLOCK_BYTES), 0)).isZero();
        }
        String connection = disk.writerThreads.get(0).replaceFirst("^(nbd-\\d+).*", "$1");
        assertThat(connection).matches("nbd-\\d+");
        // from the streak on, one thread keeps the read role and serves every request
        int settled = dev.scemu.nbd.internal.Connection.KEEP_READ_ROLE_AFTER_ALONE;
        assertThat(java.util.Set.copyOf(disk.writerThreads.subList(settled, lone))).hasSize(1);

        disk.writerThreads.clear();
        int pipelined = 16;
        for (int i = 0; i < pipelined; i++) {
            client.send(NBD_CMD_WRITE, 0, 700 + i, (long) (lone + i) * BLOCK_BYTES, BLOCK_BYTES, random(50 + i, BLOCK_BYTES));
        }
        client.flushOutput();
        for (int i = 0; i < pipelined; i++) {
            assertThat(client.receive().error()).isZero();
        }
        assertThat(disk.writerThreads).hasSize(pipelined)
                .allMatch(name -> name.equals(connection) || name.startsWith(connection + "-"));
        for (int i = 0; i < lone; i++) {
            assertThat(client.read((long) i * BLOCK_BYTES, BLOCK_BYTES)).isEqualTo(random(10 + i, BLOCK_BYTES));
        }
        for (int i = 0; i < pipelined; i++) {
            assertThat(client.read((long) (lone + i) * BLOCK_BYTES, BLOCK_BYTES)).isEqualTo(random(50 + i, BLOCK_BYTES));
        }
    }

    /** Holds reads of blocks [0, 2) until the gate opens and records whether a reading thread was ever interrupted. */
    private static final class InterruptProbeDevice extends dev.scemu.core.ForwardingBlockDevice {
        final java.util.concurrent.CountDownLatch bothInside = new java.util.concurrent.CountDownLatch(2);
        final java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
        final java.util.concurrent.atomic.AtomicInteger finished = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicBoolean interrupted = new java.util.concurrent.atomic.AtomicBoolean();

        InterruptProbeDevice(BlockDevice inner) {
            super(inner.name() + "-probe", inner, false);
        }

        @Override
        protected void doRead(long lba, int blockCount, java.nio.ByteBuffer buffer, int bufferOffset) {
            if (lba < 2) {
                bothInside.countDown();
                try {
                    if (!gate.await(20, java.util.concurrent.TimeUnit.SECONDS)) {
                        throw new IllegalStateException("gate never opened");
                    }
                } catch (InterruptedException e) {
                    interrupted.set(true);
                    Thread.currentThread().interrupt();
                }
                if (Thread.currentThread().isInterrupted()) {
                    interrupted.set(true);
                }
            }
            inner().read(lba, blockCount, buffer, bufferOffset);
            if (lba < 2) {
                finished.incrementAndGet();
            }
        }
    }

    /**
     * Closing the server while two requests of a connection are inside the device (on two of the
     * connection's threads) interrupts neither: an interrupt during device I/O would close the
     * member files' NIO channels. The socket closes at once; the device calls run to their end.
     */
    @Test
    void closingTheServerNeverInterruptsRequestsInTheDevice() throws Exception {
        InterruptProbeDevice disk = track(new InterruptProbeDevice(memory("disk")));
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = client(server, "disk");
        client.send(NBD_CMD_READ, 0, 1, 0, BLOCK_BYTES, null);
        client.send(NBD_CMD_READ, 0, 2, BLOCK_BYTES, BLOCK_BYTES, null);
        client.flushOutput();
        assertThat(disk.bothInside.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

        java.util.concurrent.ExecutorService closer = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.Future<?> closing = closer.submit(server::close);
            // close() closes the socket before it waits for the connection's threads: the client sees the end
            org.assertj.core.api.Assertions.assertThatThrownBy(client::receive).isInstanceOf(java.io.IOException.class);
            disk.gate.countDown();
            closing.get(20, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            closer.shutdownNow();
        }
        assertThat(disk.finished.get()).isEqualTo(2);
        assertThat(disk.interrupted.get()).isFalse();
    }

    @Test
    void manyPipelinedWritesAndReadsAreAllAnswered() throws Exception {
        BlockDevice disk = memory("disk");
        NbdServer server = start(loopback().export("disk", disk).maxInFlightPerConnection(8));
        NbdTestClient client = client(server, "disk");
        int requests = 64;
        Map<Long, byte[]> written = new HashMap<>();
        for (int i = 0; i < requests; i++) {
            byte[] data = random(100 + i, BLOCK_BYTES);
            written.put((long) i, data);
            client.send(NBD_CMD_WRITE, 0, 1000 + i, (long) i * BLOCK_BYTES, BLOCK_BYTES, data);
        }
        client.flushOutput();
        for (int i = 0; i < requests; i++) {
            NbdTestClient.Reply reply = client.receive();
            assertThat(reply.error()).isZero();
            assertThat(reply.handle()).isBetween(1000L, 1000L + requests - 1);
        }
        for (int i = 0; i < requests; i++) {
            client.send(NBD_CMD_READ, 0, 5000 + i, (long) i * BLOCK_BYTES, BLOCK_BYTES, null);
        }
        client.flushOutput();
        Map<Long, byte[]> read = new HashMap<>();
        for (int i = 0; i < requests; i++) {
            NbdTestClient.Reply reply = client.receive();
            read.put(reply.handle() - 5000, reply.data());
        }
        assertThat(read).hasSize(requests);
        written.forEach((index, data) -> assertThat(read.get(index)).as("block %d", index).isEqualTo(data));
        assertThat(server.stats().requests(NbdCommand.WRITE)).isEqualTo(requests);
        assertThat(server.stats().requests(NbdCommand.READ)).isEqualTo(requests);
        assertThat(server.stats().writtenBytes()).isEqualTo((long) requests * BLOCK_BYTES);
    }

    @Test
    void twoConnectionsSeeEachOthersWrites() throws Exception {
        BlockDevice disk = memory("disk");
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient one = client(server, "disk");
        NbdTestClient two = structuredClient(server, "disk");
        byte[] a = random(8, BLOCK_BYTES);
        byte[] b = random(9, BLOCK_BYTES);

        assertThat(one.write(0, a, 0)).isZero();
        assertThat(two.write(BLOCK_BYTES, b, NBD_CMD_FLAG_FUA)).isZero();

        assertThat(two.read(0, BLOCK_BYTES)).isEqualTo(a);
        assertThat(one.read(BLOCK_BYTES, BLOCK_BYTES)).isEqualTo(b);
        assertThat(server.stats().connectionsActive()).isEqualTo(2);
    }

    @Test
    void readOnlyExportRefusesModificationsWithEpermAndKeepsData() throws Exception {
        BlockDevice disk = memory("disk");
        byte[] data = random(10, 2 * BLOCK_BYTES);
        writeDevice(disk, 0, data);
        NbdServer server = start(loopback().export("snap", disk, "snapshot view", true));
        NbdTestClient client = client(server, "snap");

        assertThat(client.transmissionFlags & NBD_FLAG_READ_ONLY).isNotZero();
        assertThat(client.transmissionFlags & (NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES)).isZero();
        assertThat(client.write(0, random(11, BLOCK_BYTES), 0)).isEqualTo(NBD_EPERM);
        assertThat(client.write(100, random(11, 10), NBD_CMD_FLAG_FUA)).isEqualTo(NBD_EPERM);
        assertThat(client.trim(0, BLOCK_BYTES, 0)).isEqualTo(NBD_EPERM);
        assertThat(client.writeZeroes(0, BLOCK_BYTES, 0)).isEqualTo(NBD_EPERM);
        assertThat(client.flush()).isZero();

        assertThat(client.read(0, data.length)).isEqualTo(data);
        assertThat(deviceBytes(disk, 0, data.length)).isEqualTo(data);
        assertThat(server.stats().errors()).isEqualTo(4);
    }

    @Test
    void outOfRangeRequestsFailWithoutChangingTheExport() throws Exception {
        BlockDevice disk = memory("disk");
        byte[] tail = random(12, BLOCK_BYTES);
        writeDevice(disk, BLOCKS - 1, tail);
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = client(server, "disk");
        long size = BLOCKS * BLOCK_BYTES;

        assertThat(client.request(NBD_CMD_READ, 0, size - BLOCK_BYTES, 2L * BLOCK_BYTES, null).error())
                .isEqualTo(NBD_EINVAL);
        assertThat(client.write(size - BLOCK_BYTES, random(13, 2 * BLOCK_BYTES), 0)).isEqualTo(NBD_ENOSPC);
        assertThat(client.write(size, random(13, 1), 0)).isEqualTo(NBD_ENOSPC);
        assertThat(client.write(-BLOCK_BYTES, random(13, BLOCK_BYTES), 0)).isEqualTo(NBD_ENOSPC);
        assertThat(client.trim(size - BLOCK_BYTES, 2L * BLOCK_BYTES, 0)).isEqualTo(NBD_EINVAL);
        assertThat(client.writeZeroes(size, BLOCK_BYTES, 0)).isEqualTo(NBD_ENOSPC);

        assertThat(client.read(size - BLOCK_BYTES, BLOCK_BYTES)).isEqualTo(tail);
        assertThat(deviceBytes(disk, size - BLOCK_BYTES, BLOCK_BYTES)).isEqualTo(tail);
    }

    @Test
    void unknownCommandsAndFlagsGetEinvalAndTheConnectionGoesOn() throws Exception {
        BlockDevice disk = memory("disk");
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = client(server, "disk");

        assertThat(client.request(42, 0, 0, BLOCK_BYTES, null).error()).isEqualTo(NBD_EINVAL);
        assertThat(client.request(NBD_CMD_READ, NBD_CMD_FLAG_NO_HOLE, 0, BLOCK_BYTES, null).error())
                .isEqualTo(NBD_EINVAL);
        assertThat(client.write(0, random(14, BLOCK_BYTES), 0x40)).isEqualTo(NBD_EINVAL);

        assertThat(deviceBytes(disk, 0, BLOCK_BYTES)).isEqualTo(new byte[BLOCK_BYTES]);
        assertThat(client.read(0, 16)).isEqualTo(new byte[16]);
        assertThat(server.stats().requests(NbdCommand.OTHER)).isEqualTo(1);
    }

    @Test
    void oversizedRequestsGetEinvalAfterTheirPayloadIsConsumed() throws Exception {
        BlockDevice disk = track(dev.scemu.core.Media.memory("big",
                new dev.scemu.core.BlockGeometry(BLOCK_BYTES, 1024)));
        NbdServer server = start(loopback().export("big", disk).maxRequestBytes(1 << 20));
        NbdTestClient client = client(server, "big");

        assertThat(client.write(0, random(15, (1 << 20) + BLOCK_BYTES), 0)).isEqualTo(NBD_EINVAL);
        assertThat(client.request(NBD_CMD_READ, 0, 0, (1 << 20) + 1, null).error()).isEqualTo(NBD_EINVAL);

        byte[] data = random(16, 1 << 20);
        assertThat(client.write(0, data, 0)).isZero();
        assertThat(client.read(0, data.length)).isEqualTo(data);
    }

    @Test
    void mediumErrorsBecomeEioAndTheConnectionGoesOn() throws Exception {
        FaultInjectingDevice disk = track(new FaultInjectingDevice(memory("disk"), 3));
        disk.failReads(Extent.of(2, 1));
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient simple = client(server, "disk");
        NbdTestClient structured = structuredClient(server, "disk");

        assertThat(simple.request(NBD_CMD_READ, 0, 2L * BLOCK_BYTES, BLOCK_BYTES, null).error()).isEqualTo(NBD_EIO);
        NbdTestClient.Reply reply = structured.request(NBD_CMD_READ, 0, 2L * BLOCK_BYTES, 512, null);
        assertThat(reply.error()).isEqualTo(NBD_EIO);
        assertThat(reply.chunkTypes()).containsExactly(NBD_REPLY_TYPE_ERROR);
        assertThat(reply.message()).contains("MEDIUM_ERROR");

        assertThat(simple.read(0, BLOCK_BYTES)).isEqualTo(new byte[BLOCK_BYTES]);
        assertThat(structured.read(3L * BLOCK_BYTES, 10)).isEqualTo(new byte[10]);
    }

    @Test
    void structuredReadsUseOneDataChunkAndZeroLengthReadsANoneChunk() throws Exception {
        BlockDevice disk = memory("disk");
        byte[] data = random(17, BLOCK_BYTES);
        writeDevice(disk, 0, data);
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = structuredClient(server, "disk");

        NbdTestClient.Reply reply = client.request(NBD_CMD_READ, 0, 100, 1000, null);
        assertThat(reply.chunkTypes()).containsExactly(NBD_REPLY_TYPE_OFFSET_DATA);
        assertThat(reply.data()).isEqualTo(java.util.Arrays.copyOfRange(data, 100, 1100));

        NbdTestClient.Reply empty = client.request(NBD_CMD_READ, 0, 0, 0, null);
        assertThat(empty.error()).isZero();
        assertThat(empty.chunkTypes()).containsExactly(NBD_REPLY_TYPE_NONE);
    }

    @Test
    void discAnswersRequestsInFlightThenCloses() throws Exception {
        BlockDevice disk = memory("disk");
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = client(server, "disk");
        byte[] data = random(18, 8 * BLOCK_BYTES);

        client.send(NBD_CMD_WRITE, 0, 1, 0, data.length, data);
        client.disconnect();

        assertThat(client.receive().error()).isZero();
        assertThat(client.serverClosed()).isTrue();
        assertThat(deviceBytes(disk, 0, data.length)).isEqualTo(data);
        assertThat(server.stats().requests(NbdCommand.DISC)).isEqualTo(1);
    }

    @Test
    void closingTheServerClosesConnectionsButNotDevices() throws Exception {
        BlockDevice disk = memory("disk");
        NbdServer server = loopback().export("disk", disk).start();
        NbdTestClient client = client(server, "disk");
        client.write(0, random(19, BLOCK_BYTES), 0);

        server.close();
        server.close();

        assertThat(client.serverClosed()).isTrue();
        assertThat(deviceBytes(disk, 0, BLOCK_BYTES)).isEqualTo(random(19, BLOCK_BYTES));
    }
}
