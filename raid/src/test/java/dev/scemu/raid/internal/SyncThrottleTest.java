package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The sync throttle's rule for yielding to host I/O: never below the minimum speed. */
class SyncThrottleTest {

    private static final long MIN = 1_000L * 1024; // md's default speed_limit_min, 1,000 KiB/s
    private static final long YIELD_NANOS = SyncThrottle.YIELD_MILLIS * 1_000_000L;

    @Test
    void yieldsWhileOneMoreYieldKeepsTheMinimum() {
        long window = 1_000_000_000L; // a one-second window
        // twice the minimum: a 5 ms yield leaves it far above
        assertThat(SyncThrottle.mayYield(2 * MIN, window, MIN)).isTrue();
        // exactly the bytes the minimum allows over the window plus one yield: may yield
        long atTheLimit = MIN * (window + YIELD_NANOS) / 1_000_000_000L;
        assertThat(SyncThrottle.mayYield(atTheLimit, window, MIN)).isTrue();
    }

    @Test
    void doesNotYieldWhenTheYieldWouldTakeItBelowTheMinimum() {
        long window = 1_000_000_000L;
        // above the minimum now (md would sleep here), but not by a whole yield's worth
        long aboveByLessThanAYield = MIN + MIN * YIELD_NANOS / 1_000_000_000L / 2;
        assertThat(aboveByLessThanAYield * 1e9 / window).isGreaterThan((double) MIN);
        assertThat(SyncThrottle.mayYield(aboveByLessThanAYield, window, MIN)).isFalse();
        assertThat(SyncThrottle.mayYield(MIN / 2, window, MIN)).isFalse();
        assertThat(SyncThrottle.mayYield(0, window, MIN)).isFalse();
    }

    @Test
    void aMinimumOfZeroSlowsThePassWithoutStoppingItAndAnUnreachableOneNeverYields() {
        assertThat(SyncThrottle.mayYield(1, 1_000_000_000L, 0)).isTrue();
        assertThat(SyncThrottle.mayYield(0, 1_000_000_000L, 0)).as("nothing done in the window: run a unit").isFalse();
        assertThat(SyncThrottle.mayYield(1L << 40, 1_000_000_000L, Long.MAX_VALUE)).isFalse();
    }
}
