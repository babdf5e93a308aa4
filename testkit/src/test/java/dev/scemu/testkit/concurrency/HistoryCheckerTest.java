package dev.scemu.testkit.concurrency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.testkit.concurrency.Op.Kind;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rules of {@link HistoryChecker} on small hand-made histories (ticks chosen by hand). */
class HistoryCheckerTest {

    private final History history = new History(4096, 2);

    private static Op write(long id, long lba, long start, long end) {
        return new Op(id, Kind.WRITE, 0, lba, 1, false, start, end, null, -1, null, null);
    }

    private static Op read(long id, long lba, long start, long end, long saw) {
        return new Op(id, Kind.READ, 1, lba, 1, false, start, end, new long[] {saw}, -1, null, null);
    }

    private List<String> rules() {
        return HistoryChecker.check(history).stream().map(HistoryChecker.Violation::rule).toList();
    }

    @Test
    void aReadMayReturnAConcurrentWriteOrTheLatestCompletedOne() {
        history.record(write(1, 0, 1, 2));
        history.record(write(2, 0, 5, 9));
        history.record(read(3, 0, 6, 7, 1)); // w2 in flight: w1 or w2
        history.record(read(4, 0, 6, 8, 2));
        history.record(read(5, 0, 3, 4, 1));
        assertThat(rules()).isEmpty();
    }

    @Test
    void aReadOfAnOverwrittenValueIsStale() {
        history.record(write(1, 0, 1, 2));
        history.record(write(2, 0, 3, 4));
        history.record(read(3, 0, 5, 6, 1));
        assertThat(rules()).containsExactly("stale read");
    }

    @Test
    void zerosAfterACompletedWriteAreStaleAndAFutureWriteCannotBeRead() {
        history.record(write(1, 0, 1, 2));
        history.record(read(2, 0, 3, 4, 0));
        history.record(read(3, 1, 5, 6, 4)); // w4 starts after the read ended
        history.record(write(4, 1, 7, 8));
        assertThat(rules()).containsExactlyInAnyOrder("stale read", "read");
    }

    @Test
    void readsNeverGoBackInTimeWhileAWriteIsInFlight() {
        history.record(write(1, 0, 1, 2));
        history.record(write(2, 0, 3, 20));
        history.record(read(3, 0, 4, 5, 2));
        history.record(read(4, 0, 6, 7, 1)); // w2 was already seen: w1 cannot come back
        assertThat(rules()).containsExactly("read went back in time");
    }

    @Test
    void tornAndUnknownValuesAreReported() {
        history.record(write(1, 0, 1, 2));
        history.record(read(2, 0, 3, 4, BlockStamp.TORN));
        history.record(read(3, 1, 3, 4, 1)); // w1 never wrote lba 1
        assertThat(rules()).containsExactlyInAnyOrder("torn block", "unknown value");
    }

    @Test
    void afterACutWritesAcknowledgedBeforeAFlushOrWithFuaSurvive() {
        history.record(write(1, 0, 1, 2));
        history.record(write(2, 0, 3, 4));                                               // before the flush
        history.record(new Op(3, Kind.FLUSH, 0, -1, 0, false, 5, 6, null, -1, null, null));
        history.record(new Op(4, Kind.WRITE, 0, 1, 1, true, 7, 8, null, -1, null, null)); // FUA
        history.cut(9, "test cut");
        history.volumeAfterCut(new long[] {1, 0});
        assertThat(HistoryChecker.check(history)).extracting(HistoryChecker.Violation::rule, HistoryChecker.Violation::block)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("lost write", 0L),
                        org.assertj.core.groups.Tuple.tuple("lost write", 1L));
    }

    @Test
    void writesConcurrentWithTheFlushOrInFlightAtTheCutMayBeLost() {
        history.record(write(1, 0, 1, 2));
        history.record(new Op(2, Kind.FLUSH, 0, -1, 0, false, 3, 6, null, -1, null, null));
        history.record(write(3, 0, 4, 5));                       // concurrent with the flush
        history.record(write(4, 1, 7, Op.UNKNOWN));              // in flight at the cut
        history.cut(9, "test cut");
        history.volumeAfterCut(new long[] {1, 4});
        assertThat(rules()).isEmpty();
    }

    @Test
    void aSnapshotIsOneInstant() {
        History h = new History(4096, 2);
        h.record(new Op(1, Kind.SNAPSHOT_CREATE, -2, -1, 0, false, 1, 30, null, 7, "s", null));
        h.record(write(2, 1, 2, 3));   // B
        h.record(write(3, 1, 6, 7));   // C overwrites B, done at 7
        h.record(write(4, 0, 10, 11)); // A starts at 10
        // block 0 = A (t > 10) beside block 1 = B (t < 7): no single instant
        h.record(new Op(5, Kind.SNAPSHOT_READ, -2, 0, 2, false, 31, 32, new long[] {4, 2}, 7, null, null));
        assertThat(HistoryChecker.check(h)).extracting(HistoryChecker.Violation::rule).containsExactly("snapshot instant");

        History ok = new History(4096, 2);
        ok.record(new Op(1, Kind.SNAPSHOT_CREATE, -2, -1, 0, false, 1, 30, null, 7, "s", null));
        ok.record(write(2, 1, 2, 3));
        ok.record(write(3, 1, 6, 7));
        ok.record(write(4, 0, 10, 11));
        ok.record(new Op(5, Kind.SNAPSHOT_READ, -2, 0, 2, false, 31, 32, new long[] {4, 3}, 7, null, null));
        ok.record(new Op(6, Kind.SNAPSHOT_READ, -2, 0, 1, false, 33, 34, new long[] {0}, 7, null, null)); // changed
        assertThat(HistoryChecker.check(ok)).extracting(HistoryChecker.Violation::rule).containsExactly("snapshot changed");
    }

    @Test
    void aSnapshotCreatedAndNotDeletedSurvivesTheCutAndADeletedOneStaysGone() {
        History h = new History(4096, 1);
        h.record(new Op(1, Kind.SNAPSHOT_CREATE, -2, -1, 0, false, 1, 2, null, 5, "kept", null));
        h.record(new Op(2, Kind.SNAPSHOT_CREATE, -2, -1, 0, false, 3, 4, null, 6, "deleted", null));
        h.record(new Op(3, Kind.SNAPSHOT_DELETE, -2, -1, 0, false, 5, 6, null, 6, null, null));
        h.cut(7, "test cut");
        h.volumeAfterCut(new long[] {0});
        h.snapshotsAfterCut(Map.of("deleted", 6L), Map.of("deleted", new long[] {0}));
        assertThat(HistoryChecker.check(h)).extracting(HistoryChecker.Violation::rule)
                .containsExactlyInAnyOrder("snapshot lost", "snapshot resurrected");
    }

    @Test
    void aRewrittenValueIsExplainedByEitherWriteThatCarriesIt() {
        history.record(write(1, 0, 1, 2));
        history.record(write(2, 0, 3, 4));
        history.record(new Op(3, 1, Kind.WRITE, 0, 0, 1, false, 5, 6, null, -1, null, null)); // rewrites w1
        history.record(read(4, 0, 7, 8, 1));
        assertThat(rules()).isEmpty();
    }
}
