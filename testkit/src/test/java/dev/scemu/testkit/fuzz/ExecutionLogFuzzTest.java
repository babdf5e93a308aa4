package dev.scemu.testkit.fuzz;

import dev.scemu.core.FuzzSupport;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.ExecutionLog;
import dev.scemu.core.Extent;
import dev.scemu.core.Fuzzer;
import dev.scemu.core.Media;
import dev.scemu.core.Transaction;
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

    /**
     * Damage confined to one data block (bytes flipped inside its record, so it no longer verifies)
     * is never silent loss: a block of the chain with newer blocks after it is
     * {@code LOG_CORRUPTED} naming its ring position; the newest block is a torn tail (the open
     * succeeds with the blocks before it); a stale block outside the chain changes
     * nothing. The seed logs sync every round, so every chain block but the newest is witnessed.
     */
    @Test
    void damageToOneDataBlockIsCorruptionNamingItsPositionUnlessItIsTheNewestOrStale() {
        Random random = new Random(114);
        int n = FuzzSupport.iterations(300);
        int corrupted = 0;
        int torn = 0;
        int stale = 0;
        for (int i = 0; i < n; i++) {
            byte[] region = regions.get(i % regions.size());
            ByteBuffer bytes = ByteBuffer.wrap(region).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            int current = bytes.getLong(16) >= bytes.getLong(BLOCK + 16) ? 0 : 1;
            long logId = bytes.getLong(current * BLOCK + 24);
            long tailSeq = bytes.getLong(current * BLOCK + 32);
            int newest = -1;
            for (int p = 0; p < REGION_BLOCKS - 2; p++) {
                int at = (2 + p) * BLOCK;
                if (bytes.getLong(at + 16) == logId && (newest < 0
                        || bytes.getLong(at + 24) > bytes.getLong((2 + newest) * BLOCK + 24))) {
                    newest = p;
                }
            }
            int position = random.nextInt(REGION_BLOCKS - 2);
            int at = (2 + position) * BLOCK;
            if (bytes.getLong(at + 16) != logId) {
                i--;
                continue; // never written by this log: nothing to damage
            }
            int length = bytes.getInt(at + 8);
            byte[] damaged = region.clone();
            for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                damaged[at + random.nextInt(length)] ^= (byte) (1 + random.nextInt(255));
            }
            boolean inChain = bytes.getLong(at + 24) >= tailSeq;
            String where = "damage in data block " + position + " (newest " + newest + ", in chain " + inChain + ")";
            if (inChain && position != newest) {
                CoreException e = org.assertj.core.api.Assertions.catchThrowableOfType(CoreException.class,
                        () -> reopen(damaged));
                assertThat(e).as(where).isNotNull();
                assertThat(e.code()).as(where).isEqualTo(CoreError.LOG_CORRUPTED);
                assertThat(e.getMessage()).as(where).contains("ring position " + position + " ");
                corrupted++;
            } else {
                List<Long> expected = reopen(region).stream().map(Transaction::txId).toList();
                List<Long> recovered = reopen(damaged).stream().map(Transaction::txId).toList();
                if (inChain) {
                    // the newest block is a torn tail: the open succeeds with the prefix before it
                    // (whose transactions may include some that block committed)
                    torn++;
                } else {
                    assertThat(recovered).as(where).isEqualTo(expected);
                    stale++;
                }
            }
        }
        System.out.println("FUZZ: core.ExecutionLog.open one-block damage cases=" + n + " corrupted=" + corrupted
                + " tornTail=" + torn + " stale=" + stale);
        assertThat(corrupted).isPositive();
        assertThat(torn).isPositive();
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
