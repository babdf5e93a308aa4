package dev.scemu.nbd;

import java.util.Map;

/**
 * Counters of an {@link NbdServer} since it was built (the exports' devices meter their own I/O).
 *
 * @param requests requests received, by command (DISC included)
 * @param errors requests answered with a non-zero NBD error
 * @param readBytes bytes returned by successful reads
 * @param writtenBytes bytes accepted by successful writes
 * @param trimmedBytes bytes covered by successful trims
 * @param zeroedBytes bytes covered by successful write-zeroes
 * @param connectionsAccepted connections accepted since start
 * @param connectionsActive connections open now (in the handshake, in transmission, or closing)
 * @param connectionsInHandshake connections open now that have not entered transmission
 * @param protocolViolations connections closed because their stream could not be parsed
 * @param handshakeTimeouts connections closed because they did not finish the handshake in time
 * @param connectionsEvicted connections closed to make room for a new one: the oldest in the
 *                           handshake when the handshake slots were full, or the longest idle in
 *                           transmission when the transmission slots were full
 * @param connectionsRefused handshakes refused entry to transmission (every connection in
 *                           transmission had requests in flight)
 */
public record NbdStats(Map<NbdCommand, Long> requests, long errors, long readBytes, long writtenBytes,
                       long trimmedBytes, long zeroedBytes, long connectionsAccepted, int connectionsActive,
                       int connectionsInHandshake, long protocolViolations, long handshakeTimeouts,
                       long connectionsEvicted, long connectionsRefused) {

    public NbdStats {
        requests = Map.copyOf(requests);
    }

    /** Requests of {@code command} received. */
    public long requests(NbdCommand command) {
        return requests.getOrDefault(command, 0L);
    }

    /** Requests of every type received. */
    public long totalRequests() {
        return requests.values().stream().mapToLong(Long::longValue).sum();
    }
}
