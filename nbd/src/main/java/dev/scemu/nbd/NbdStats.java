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
 * @param connectionsActive connections open now
 * @param protocolViolations connections closed because their stream could not be parsed
 */
public record NbdStats(Map<NbdCommand, Long> requests, long errors, long readBytes, long writtenBytes,
                       long trimmedBytes, long zeroedBytes, long connectionsAccepted, int connectionsActive,
                       long protocolViolations) {

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
