package dev.scemu.nbd;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_FUA;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_NO_HOLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Byte-granular I/O over block devices: read-modify-write, compared with a plain byte-array model. */
@Timeout(120)
class NbdUnalignedIoTest extends NbdTestSupport {

    @ParameterizedTest(name = "block size {0}, seed {1}")
    @CsvSource({"512, 1", "4096, 2", "4096, 3", "8192, 4"})
    void randomUnalignedOperationsMatchAByteModel(int blockBytes, long seed) throws Exception {
        int sizeBytes = 256 * 1024;
        BlockDevice disk = track(Media.memory("disk", BlockGeometry.ofBytes(blockBytes, sizeBytes)));
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = seed % 2 == 0 ? structuredClient(server, "disk") : client(server, "disk");
        byte[] model = new byte[sizeBytes];
        Random random = new Random(seed);

        for (int op = 0; op < 300; op++) {
            int offset = random.nextInt(sizeBytes);
            int length = 1 + random.nextInt(Math.min(3 * blockBytes + 100, sizeBytes - offset));
            switch (random.nextInt(5)) {
                case 0, 1 -> {
                    byte[] data = new byte[length];
                    random.nextBytes(data);
                    assertThat(client.write(offset, data, random.nextBoolean() ? NBD_CMD_FLAG_FUA : 0)).isZero();
                    System.arraycopy(data, 0, model, offset, length);
                }
                case 2 -> {
                    int flags = random.nextBoolean() ? NBD_CMD_FLAG_NO_HOLE : 0;
                    assertThat(client.writeZeroes(offset, length, flags)).isZero();
                    Arrays.fill(model, offset, offset + length, (byte) 0);
                }
                case 3 -> {
                    assertThat(client.trim(offset, length, 0)).isZero();
                    // the server discards only the blocks the range covers completely
                    long first = ((long) offset + blockBytes - 1) / blockBytes * blockBytes;
                    long end = ((long) offset + length) / blockBytes * blockBytes;
                    if (end > first) {
                        Arrays.fill(model, (int) first, (int) end, (byte) 0);
                    }
                }
                default -> assertThat(client.read(offset, length))
                        .as("op %d read [%d, +%d)", op, offset, length)
                        .isEqualTo(Arrays.copyOfRange(model, offset, offset + length));
            }
        }
        assertThat(client.read(0, sizeBytes)).isEqualTo(model);
        assertThat(deviceBytes(disk, 0, sizeBytes)).isEqualTo(model);
    }

    @Test
    void concurrentUnalignedWritesSharingBlocksLoseNoUpdate() throws Exception {
        int writers = 8;
        int sectorBytes = BLOCK_BYTES / writers; // each writer owns one 512-byte sector of every block
        int blocks = 64;
        BlockDevice disk = memory("disk");
        NbdServer server = start(loopback().export("disk", disk));
        List<NbdTestClient> clients = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            clients.add(client(server, "disk"));
        }
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            for (int round = 1; round <= 3; round++) {
                List<Future<?>> done = new ArrayList<>();
                for (int w = 0; w < writers; w++) {
                    NbdTestClient client = clients.get(w);
                    byte fill = (byte) (round * 16 + w);
                    int writer = w;
                    done.add(pool.submit(() -> {
                        byte[] sector = new byte[sectorBytes];
                        Arrays.fill(sector, fill);
                        for (int b = 0; b < blocks; b++) {
                            client.send(NBD_CMD_WRITE, 0, b, (long) b * BLOCK_BYTES + (long) writer * sectorBytes,
                                    sectorBytes, sector);
                        }
                        client.flushOutput();
                        for (int b = 0; b < blocks; b++) {
                            assertThat(client.receive().error()).isZero();
                        }
                        return null;
                    }));
                }
                for (Future<?> future : done) {
                    future.get(60, TimeUnit.SECONDS);
                }
                for (int b = 0; b < blocks; b++) {
                    byte[] block = deviceBytes(disk, (long) b * BLOCK_BYTES, BLOCK_BYTES);
                    for (int w = 0; w < writers; w++) {
                        byte[] expected = new byte[sectorBytes];
                        Arrays.fill(expected, (byte) (round * 16 + w));
                        assertThat(Arrays.copyOfRange(block, w * sectorBytes, (w + 1) * sectorBytes))
                                .as("round %d block %d sector of writer %d", round, b, w).isEqualTo(expected);
                    }
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
