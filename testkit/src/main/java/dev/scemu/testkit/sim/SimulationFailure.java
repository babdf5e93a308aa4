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

    /** System property with a vendor's own replay command; {@code {seed}} stands for the seed. */
    public static final String REPLAY_COMMAND_PROPERTY = "scemu.sim.replayCommand";

    /**
     * The command that replays {@code seed}: the template in {@value #REPLAY_COMMAND_PROPERTY} if
     * set, else scemu's own {@code SimulationTest#replay}.
     */
    public static String reproductionCommand(long seed) {
        String template = System.getProperty(REPLAY_COMMAND_PROPERTY);
        if (template != null && !template.isBlank()) {
            return template.replace("{seed}", Long.toString(seed));
        }
        return "./mvnw -B -o -pl testkit -am test -Dtest=SimulationTest#replay -Dsurefire.failIfNoSpecifiedTests=false"
                + " -Dscemu.sim.seed=" + seed;
    }
}
