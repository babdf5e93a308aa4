package dev.scemu.testkit.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreException;
import dev.scemu.core.ExecutionLog;
import dev.scemu.core.Extent;
import dev.scemu.core.Media;
import dev.scemu.core.Transaction;
import dev.scemu.testkit.Fuzzer;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * controller-core's execution log: header slots, data blocks and records (all
 * {@code ChecksummedRecord}s) opened from a mutated region. Open only reads: the device must be
 * unchanged whatever the outcome.
 */
class ExecutionLogFuzzTest {

    private static final int BLOCK = 512;
    private static final int REGION_BLOCKS = 2 + 8;
    private static List<byte[]> regions;

    @BeforeAll
    static void realLogs() {
        regions = List.of(log(1, false), log(2, true));
    }

    /** A log with committed and unfinished transactions; {@code wrapped}: enough appends to reclaim and wrap the ring. */
    private static byte[] log(long seed, boolean wrapped) {
        Random random = new Random(seed);
        try (BlockDevice device = Media.memory("log", new BlockGeometry(BLOCK, REGION_BLOCKS))) {
            ExecutionLog log = ExecutionLog.format(device, new Extent(0, REGION_BLOCKS));
            int rounds = wrapped ? 40 : 4;
            for (int i = 0; i < rounds; i++) {
                byte[] payload = new byte[random.nextInt(120)];
                random.nextBytes(payload);
                long tx = log.begin(1 + i % 3, ByteBuffer.wrap(payload));
                log.step(tx, 0, ByteBuffer.wrap(payload, 0, payload.length / 2));
                if (i % 4 != 3 || i < rounds - 4) {
                    log.commit(tx);
                }
                log.sync();
            }
            long open = log.begin(9, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            log.step(open, 5, null);
            log.sync();
            log.close();
            byte[] image = FuzzSupport.contentsOf(device);
            assertThat(reopen(image)).as("seed has unfinished transactions").isNotEmpty();
            return image;
        }
    }

    private static List<Transaction> reopen(byte[] region) {
        try (BlockDevice device = FuzzSupport.deviceOf("fuzz", BLOCK, region)) {
            try {
                ExecutionLog log = ExecutionLog.open(device, new Extent(0, REGION_BLOCKS));
                List<Transaction> unfinished = log.unfinished();
                for (Transaction t : unfinished) {
                    t.beginPayload().remaining();
                    t.steps().forEach(s -> s.payload().remaining());
                }
                return unfinished;
            } finally {
                if (!Arrays.equals(FuzzSupport.contentsOf(device), region)) {
                    throw new AssertionError("opening the execution log wrote to its device");
                }
            }
        }
    }

    private static byte[] padded(byte[] region) {
        return Arrays.copyOf(region, REGION_BLOCKS * BLOCK); // a truncated region reads as zeros
    }

    @Test
    void mutatedLogRegionsOpenOrFailWithCoreExceptionAndAreNeverWritten() {
        int n = FuzzSupport.iterations(1500);
        Fuzzer.Report raw = new Fuzzer(111, n, CoreException.class).run(regions, r -> reopen(padded(r)));
        Fuzzer.Report sealed = new Fuzzer(112, n, CoreException.class).run(regions, r -> reopen(
                FuzzSupport.resealRecords(padded(r), BLOCK, FuzzSupport.magic("SCLH"), FuzzSupport.magic("SCLB"))));
        Fuzzer.Report report = FuzzSupport.print("core.ExecutionLog.open", FuzzSupport.combine(raw, sealed));
        assertThat(report.decodedCleanly()).isPositive();
        assertThat(report.rejected()).isPositive();
    }

    @Test
    void mutatedRecordsVerifyOrFailWithCoreException() {
        int n = FuzzSupport.iterations(4000);
        byte[] region = regions.get(0);
        List<byte[]> records = List.of(Arrays.copyOfRange(region, 0, BLOCK), Arrays.copyOfRange(region, 2 * BLOCK, 3 * BLOCK));
        int[] magics = {FuzzSupport.magic("SCLH"), FuzzSupport.magic("SCLB")};
        Fuzzer.Report report = FuzzSupport.print("core.ChecksummedRecord.verify", new Fuzzer(113, n, CoreException.class)
                .run(records, bytes -> {
                    ByteBuffer buffer = ByteBuffer.wrap(bytes);
                    for (int magic : magics) {
                        try {
                            dev.scemu.core.ChecksummedRecord.verify(buffer, 0, magic, 1, 1, BLOCK, "fuzz record");
                            return;
                        } catch (CoreException wrongKind) {
                            if (magic == magics[magics.length - 1]) {
                                throw wrongKind;
                            }
                        }
                    }
                }));
        assertThat(report.decodedCleanly()).isPositive();
        assertThat(report.rejected()).isPositive();
    }
}
