package dev.scemu.flash;

/**
 * The one point where a firmware switch pauses host I/O. Every host request is admitted under the
 * image that runs when it starts, by {@link #enter()}, and closes its {@link Permit} when it is done.
 * The {@link FirmwareManager} owns the gate ({@link FirmwareManager#hostIoGate()}) and is the only
 * one that pauses it.
 *
 * <pre>{@code
 * try (HostIoGate.Permit permit = gate.enter()) {
 *     volume.write(lba, blocks, buffer, 0);
 * }
 * }</pre>
 *
 * <p>A firmware switch holds new requests only while the new image is activated; requests already
 * admitted under the old image are not waited for before it (they finish on their own, and the
 * switch waits for them afterwards without holding anyone). The revert after a failed trial boot
 * quiesces: it holds new requests and waits for the in-flight ones before it runs. See
 * {@code docs/flash.md} and {@link UpdateReport#switchPauseNanos()}.
 *
 * <p>Hot path: {@code enter()} is a volatile read, one atomic increment and a second volatile read;
 * closing the permit is one atomic decrement; nothing is allocated per request. Thread-safe.
 */
public interface HostIoGate {

    /** Held by a host request; close it exactly once when the request is done. */
    interface Permit extends AutoCloseable {
        @Override
        void close();
    }

    /** Admits one host request; waits only while a pause holds new requests. */
    Permit enter();

    /** Whether new host requests are being held right now. */
    boolean isPaused();

    /** Host requests admitted under the current image and not finished yet (a snapshot). */
    long inFlight();

    /** Pauses so far (switches and reverts). */
    long pauseCount();

    /** Duration of the last pause, in nanoseconds (0 before the first). */
    long lastPauseNanos();

    /** Longest pause so far, in nanoseconds. */
    long maxPauseNanos();

    /** Sum of all pauses so far, in nanoseconds. */
    long totalPauseNanos();
}
