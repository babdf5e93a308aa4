package dev.scemu.flash;

/**
 * SPI: converts one persistent-data format (named as in the image's DATA_FORMATS TLV, for example
 * {@code mapping-table}) from {@link #fromVersion()} to {@link #toVersion()}, and back.
 *
 * <p>Contract, which crash recovery relies on:
 * <ul>
 *   <li>{@link #migrate()} and {@link #revert()} are <b>idempotent and resumable</b>: run again
 *       after a power cut at any point (or after completing), they finish the job. In practice each
 *       unit of data carries its own version and is converted atomically (one block write).</li>
 *   <li>Each is durable when it returns (it flushes).</li>
 *   <li>They run while host I/O continues, before the switch; they must not disturb the running
 *       image's use of the data (convert data the running image does not touch, or both versions
 *       must be readable by it).</li>
 * </ul>
 * An update whose new image expects a newer format version runs the chain of registered
 * migrations; a crash before the update is confirmed reverts them in reverse order.
 */
public interface Migration {

    /** Name of the persistent-data format. */
    String format();

    int fromVersion();

    int toVersion();

    /** Converts the data from {@link #fromVersion()} to {@link #toVersion()}. */
    void migrate();

    /** Converts the data back from {@link #toVersion()} to {@link #fromVersion()}. */
    void revert();

    default String describe() {
        return format() + " v" + fromVersion() + "→v" + toVersion();
    }
}
