package dev.scemu.nbd.internal;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The connections of one server by phase, and the admission policy that keeps idle or half-open
 * connections from locking new clients out. One monitor guards both sets.
 *
 * <h2>Policy</h2>
 * <ol>
 *   <li><b>Handshake slots.</b> At most {@code maxHandshakes} connections are in the handshake at
 *       once. A newly accepted connection always gets a slot: when they are all taken, the connection
 *       that has been in the handshake longest is closed (it is also the closest to its handshake
 *       timeout). A handshake lasts at most the handshake timeout in any case.</li>
 *   <li><b>Transmission slots.</b> At most {@code maxConnections} connections are in transmission.
 *       A client that finishes its handshake when they are all taken evicts the connection that has
 *       been idle longest (no request in flight, oldest last activity); that one is told
 *       {@code ESHUTDOWN} for any request it still sends and closed after the grace period. If every
 *       connection has a request in flight, the newcomer is refused ({@code NBD_REP_ERR_POLICY} for
 *       {@code NBD_OPT_GO}, a closed connection for {@code NBD_OPT_EXPORT_NAME}).</li>
 * </ol>
 * Handshake and transmission slots are separate, so no number of sockets that never finish the
 * handshake can keep a client from reaching transmission, and sockets in the handshake never count
 * against clients that are transferring data.
 */
public final class ConnectionTable {

    /** What the table needs to know of a connection. */
    public interface Member {
        /** Requests read and not yet answered. */
        int requestsInFlight();

        /** {@link System#nanoTime()} of the last request read or reply sent (or of the handshake's end). */
        long lastActivityNanos();
    }

    /** Outcome of {@link #enterTransmission}: admitted (maybe evicting {@code victim}) or refused with a reason. */
    public record Admission(boolean admitted, Member victim, String refusal) {
    }

    private final int maxHandshakes;
    private final int maxConnections;
    /** In accept order (oldest first). */
    private final Set<Member> handshaking = new LinkedHashSet<>();
    private final Set<Member> transmitting = new LinkedHashSet<>();
    private boolean closed;

    public ConnectionTable(int maxHandshakes, int maxConnections) {
        this.maxHandshakes = maxHandshakes;
        this.maxConnections = maxConnections;
    }

    /**
     * Registers a newly accepted connection in the handshake phase. Returns the connection the caller
     * must close to make room (the oldest in the handshake), or null.
     *
     * @throws IllegalStateException if the table is closed (the server is closing)
     */
    public synchronized Member admit(Member connection) {
        if (closed) {
            throw new IllegalStateException("server closed");
        }
        Member oldest = null;
        if (handshaking.size() >= maxHandshakes) {
            oldest = handshaking.iterator().next();
            handshaking.remove(oldest);
        }
        handshaking.add(connection);
        return oldest;
    }

    /**
     * Moves a connection from the handshake to transmission, applying the policy of the class doc.
     * Refused if the connection is no longer in the handshake (timed out or evicted meanwhile).
     */
    public synchronized Admission enterTransmission(Member connection) {
        if (closed || !handshaking.contains(connection)) {
            return new Admission(false, null, closed ? "the server is closing" : "the handshake has expired");
        }
        Member victim = null;
        if (transmitting.size() >= maxConnections) {
            long oldestActivity = 0;
            for (Member member : transmitting) {
                if (member.requestsInFlight() == 0
                        && (victim == null || member.lastActivityNanos() - oldestActivity < 0)) {
                    victim = member;
                    oldestActivity = member.lastActivityNanos();
                }
            }
            if (victim == null) {
                return new Admission(false, null, "too many connections: all " + maxConnections
                        + " connections in transmission have requests in flight");
            }
            transmitting.remove(victim);
        }
        handshaking.remove(connection);
        transmitting.add(connection);
        return new Admission(true, victim, null);
    }

    /** Removes a connection still in the handshake (its timeout expired); false if it has left the handshake. */
    public synchronized boolean expireHandshake(Member connection) {
        return handshaking.remove(connection);
    }

    /** Forgets a closed connection. */
    public synchronized void remove(Member connection) {
        handshaking.remove(connection);
        transmitting.remove(connection);
    }

    public synchronized int handshaking() {
        return handshaking.size();
    }

    public synchronized int transmitting() {
        return transmitting.size();
    }

    /** Refuses every later admission and returns every connection registered. */
    public synchronized List<Member> close() {
        closed = true;
        List<Member> all = new ArrayList<>(handshaking);
        all.addAll(transmitting);
        return all;
    }
}
