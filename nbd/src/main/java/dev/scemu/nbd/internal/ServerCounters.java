package dev.scemu.nbd.internal;

import dev.scemu.nbd.NbdCommand;
import dev.scemu.nbd.NbdStats;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Lock-free counters of one server; {@link #snapshot(int)} copies them into an {@link NbdStats}. */
public final class ServerCounters {

    private final LongAdder[] requests = new LongAdder[NbdCommand.values().length];
    private final LongAdder errors = new LongAdder();
    private final LongAdder readBytes = new LongAdder();
    private final LongAdder writtenBytes = new LongAdder();
    private final LongAdder trimmedBytes = new LongAdder();
    private final LongAdder zeroedBytes = new LongAdder();
    private final LongAdder connectionsAccepted = new LongAdder();
    private final LongAdder protocolViolations = new LongAdder();
    private final LongAdder handshakeTimeouts = new LongAdder();
    private final LongAdder connectionsEvicted = new LongAdder();
    private final LongAdder connectionsRefused = new LongAdder();
    private final LongAdder tlsSessions = new LongAdder();
    private final LongAdder tlsFailures = new LongAdder();

    public ServerCounters() {
        for (int i = 0; i < requests.length; i++) {
            requests[i] = new LongAdder();
        }
    }

    void request(NbdCommand command) {
        requests[command.ordinal()].increment();
    }

    /** Counts the outcome of a request that has been answered. */
    void completed(NbdCommand command, int error, long lengthBytes) {
        if (error != 0) {
            errors.increment();
            return;
        }
        switch (command) {
            case READ -> readBytes.add(lengthBytes);
            case WRITE -> writtenBytes.add(lengthBytes);
            case TRIM -> trimmedBytes.add(lengthBytes);
            case WRITE_ZEROES -> zeroedBytes.add(lengthBytes);
            default -> {
            }
        }
    }

    public void connectionAccepted() {
        connectionsAccepted.increment();
    }

    void protocolViolation() {
        protocolViolations.increment();
    }

    void handshakeTimeout() {
        handshakeTimeouts.increment();
    }

    public void connectionEvicted() {
        connectionsEvicted.increment();
    }

    void connectionRefused() {
        connectionsRefused.increment();
    }

    void tlsSession() {
        tlsSessions.increment();
    }

    void tlsFailure() {
        tlsFailures.increment();
    }

    public NbdStats snapshot(int activeConnections, int handshakingConnections) {
        Map<NbdCommand, Long> byCommand = new EnumMap<>(NbdCommand.class);
        for (NbdCommand command : NbdCommand.values()) {
            byCommand.put(command, requests[command.ordinal()].sum());
        }
        return new NbdStats(byCommand, errors.sum(), readBytes.sum(), writtenBytes.sum(), trimmedBytes.sum(),
                zeroedBytes.sum(), connectionsAccepted.sum(), activeConnections, handshakingConnections,
                protocolViolations.sum(), handshakeTimeouts.sum(), connectionsEvicted.sum(), connectionsRefused.sum(),
                tlsSessions.sum(), tlsFailures.sum());
    }
}
