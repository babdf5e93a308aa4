package dev.scemu.testkit.fuzz;

import dev.scemu.core.FuzzSupport;
import static dev.scemu.testkit.fuzz.RaidImages.BLOCK;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.Fuzzer;
import dev.scemu.raid.RaidException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The RAID-5 parity journal (an execution log between the superblock and data_offset): a dirty
 * degraded array is assembled, and so replays its journal, from a mutated journal region.
 * Mutations are re-sealed so that they reach the journal's transaction payloads.
 */
class ParityJournalFuzzTest {

    /** The first data block of the log (after the two header slots): the unfinished transaction's BEGIN and mask. */
    private static final int WINDOW_START = RaidImages.JOURNAL_START + 2 * BLOCK;
    private static final int WINDOW = BLOCK;
    private static byte[][] members;
    private static byte[] journal;

    @BeforeAll
    static void crashedDegradedArray() {
        members = RaidImages.dirtyDegradedRaid5WithJournal();
        journal = Arrays.copyOfRange(members[0], WINDOW_START, WINDOW_START + WINDOW);
        RaidImages.assembleExpectingNoWriteOnRejection(new byte[][] {members[0].clone(), members[1].clone()});
    }

    @Test
    void dirtyDegradedRaid5ReplaysAMutatedJournalOrIsRejected() {
        int n = FuzzSupport.iterations(300);
        int sclh = FuzzSupport.magic("SCLH");
        int sclb = FuzzSupport.magic("SCLB");
        Fuzzer.Report raw = new Fuzzer(101, n / 3, RaidException.class).run(List.of(journal), bytes -> replay(bytes));
        Fuzzer.Report sealed = new Fuzzer(102, n, RaidException.class)
                .run(List.of(journal), bytes -> replay(FuzzSupport.resealRecords(bytes, BLOCK, sclh, sclb)));
        Fuzzer.Report report = FuzzSupport.print("raid.ParityJournal.recover", FuzzSupport.combine(raw, sealed));
        assertThat(report.decodedCleanly()).isPositive();
    }

    private static void replay(byte[] region) {
        byte[][] images = new byte[members.length][];
        for (int i = 0; i < images.length; i++) { // the journal is mirrored on every member
            images[i] = FuzzSupport.overlay(members[i], WINDOW_START, WINDOW, region);
        }
        RaidImages.assembleExpectingNoWriteOnRejection(images);
    }

    /**
     * Structure-aware: the transaction's BEGIN payload (row, member lba, blocks) and its mask step are
     * mutated and journaled with the execution log's own encoder, so every case reaches recovery.
     */
    @Test
    void dirtyDegradedRaid5ReplaysMutatedTransactionPayloadsOrIsRejected() {
        int n = FuzzSupport.iterations(150);
        Fuzzer.Report begins = new Fuzzer(103, n, RaidException.class).run(List.of(RaidImages.stripeSegmentBegin()),
                begin -> RaidImages.assembleExpectingNoWriteOnRejection(
                        RaidImages.dirtyDegradedRaid5WithJournal(begin, RaidImages.stripeSegmentMask())));
        Fuzzer.Report masks = new Fuzzer(104, n, RaidException.class).run(List.of(RaidImages.stripeSegmentMask()),
                mask -> RaidImages.assembleExpectingNoWriteOnRejection(
                        RaidImages.dirtyDegradedRaid5WithJournal(RaidImages.stripeSegmentBegin(), mask)));
        Fuzzer.Report report = FuzzSupport.print("raid.ParityJournal.recover(payloads)", FuzzSupport.combine(begins, masks));
        assertThat(report.decodedCleanly()).isPositive();
    }
}
