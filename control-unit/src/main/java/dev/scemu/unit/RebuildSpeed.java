package dev.scemu.unit;

/**
 * md's {@code speed_limit_min} / {@code speed_limit_max} for the unit's resync, rebuild and scrub,
 * in bytes per second: they never run faster than the maximum (0 = no maximum) and, while the host
 * does I/O, yield to it down to the minimum ({@link Long#MAX_VALUE} = never yield). Applied to the
 * array with {@code RaidArray.setSyncSpeedLimits}.
 *
 * @param minBytesPerSecond speed a pass keeps while the host is busy
 * @param maxBytesPerSecond speed a pass never exceeds; 0 = unlimited
 */
public record RebuildSpeed(long minBytesPerSecond, long maxBytesPerSecond) {

    /** Full speed, never yielding (the default, as before the throttle existed). */
    public static final RebuildSpeed UNLIMITED = new RebuildSpeed(Long.MAX_VALUE, 0);
    /** md's defaults: 1,000 and 200,000 KiB/s. */
    public static final RebuildSpeed MD_DEFAULTS = new RebuildSpeed(1000L * 1024, 200_000L * 1024);

    public RebuildSpeed {
        if (minBytesPerSecond < 0 || maxBytesPerSecond < 0
                || (maxBytesPerSecond > 0 && minBytesPerSecond != Long.MAX_VALUE && minBytesPerSecond > maxBytesPerSecond)) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "rebuild speed min " + minBytesPerSecond + " max "
                    + maxBytesPerSecond + " B/s: both must be >= 0 and min <= max (max 0 = unlimited)");
        }
    }

    /**
     * Parses {@code MIN:MAX} in KiB/s, the unit of md's {@code /proc/sys/dev/raid/speed_limit_*}
     * ({@code 1000:200000}); {@code MAX} 0 = unlimited.
     *
     * @throws UnitException {@link UnitError#INVALID_LAYOUT} naming the text if it is not two such numbers
     */
    public static RebuildSpeed parseKibPerSecond(String text) {
        String[] parts = text == null ? new String[0] : text.split(":", -1);
        if (parts.length != 2) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "rebuild speed '" + text + "' is not MIN:MAX in KiB/s"
                    + " (for example 1000:200000)");
        }
        try {
            long min = Long.parseLong(parts[0].trim());
            long max = Long.parseLong(parts[1].trim());
            if (min < 0 || max < 0 || min > Long.MAX_VALUE / 1024 || max > Long.MAX_VALUE / 1024) {
                throw new NumberFormatException("out of range");
            }
            return new RebuildSpeed(min * 1024, max * 1024);
        } catch (NumberFormatException e) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "rebuild speed '" + text + "' is not MIN:MAX in KiB/s"
                    + " with non-negative whole numbers (for example 1000:200000)");
        }
    }
}
