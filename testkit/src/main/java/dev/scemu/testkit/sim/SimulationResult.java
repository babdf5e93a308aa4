package dev.scemu.testkit.sim;

/**
 * Outcome of a passing simulation run.
 *
 * @param seed            the run's seed
 * @param trace           every event and the running hash
 * @param powerCuts       power cuts (immediate and armed) followed by a reboot
 * @param crashPoints     armed cuts that fired inside host I/O or a firmware update, each one recovered and checked
 * @param simulatedNanos  simulated time at the end of the run
 */
public record SimulationResult(long seed, Trace trace, int powerCuts, int crashPoints, long simulatedNanos) {

    /** The trace hash: equal for two runs of the same seed. */
    public String traceHash() {
        return trace.hashHex();
    }
}
