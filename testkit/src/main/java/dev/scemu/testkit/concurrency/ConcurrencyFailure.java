package dev.scemu.testkit.concurrency;

import java.util.List;

/**
 * A concurrency run broke a rule of {@link HistoryChecker} (or an operation failed while power was
 * on). The message names the seed, the target, the violations, the operations around the first
 * violating block and the command that runs the seed again.
 */
public final class ConcurrencyFailure extends AssertionError {

    private static final long serialVersionUID = 1L;

    /** System property with a vendor's own replay command; {@code {seed}} stands for the seed. */
    public static final String REPLAY_COMMAND_PROPERTY = "scemu.concheck.replayCommand";

    private final long seed;
    private final transient List<HistoryChecker.Violation> violations;

    public ConcurrencyFailure(long seed, String message, List<HistoryChecker.Violation> violations) {
        super(message);
        this.seed = seed;
        this.violations = List.copyOf(violations);
    }

    public long seed() {
        return seed;
    }

    public List<HistoryChecker.Violation> violations() {
        return violations;
    }

    /**
     * The command that runs {@code seed} again: the template in {@value #REPLAY_COMMAND_PROPERTY}
     * if set, else scemu's own {@code ConcurrencyCheckerTest#replay} ({@code variant}: threads or nbd).
     */
    public static String reproductionCommand(long seed, String variant) {
        String template = System.getProperty(REPLAY_COMMAND_PROPERTY);
        if (template != null) {
            return template.replace("{seed}", Long.toString(seed)).replace("{variant}", variant);
        }
        return "./mvnw -B -o -pl testkit -am test -Dtest=ConcurrencyCheckerTest#replay"
                + " -Dsurefire.failIfNoSpecifiedTests=false -Dscemu.concheck.seed=" + seed
                + " -Dscemu.concheck.variant=" + variant + " -Dscemu.concheck.repeat=20";
    }
}
