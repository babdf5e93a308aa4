package dev.scemu.testkit.sim;

/**
 * An invariant did not hold in a simulation run. The message names the seed, the step, the
 * broken invariant, the last events of the trace and a one-line command that replays the seed.
 */
public final class SimulationFailure extends AssertionError {

    private static final long serialVersionUID = 1L;

    private final long seed;

    public SimulationFailure(long seed, String message, Throwable cause) {
        super(message, cause);
        this.seed = seed;
    }

    public long seed() {
        return seed;
    }

    /** The command that replays {@code seed} through {@code SimulationTest#replay} in this repository. */
    public static String reproductionCommand(long seed) {
        return "./mvnw -B -o -pl testkit -am test -Dtest=SimulationTest#replay -Dsurefire.failIfNoSpecifiedTests=false"
                + " -Dscemu.sim.seed=" + seed;
    }
}
