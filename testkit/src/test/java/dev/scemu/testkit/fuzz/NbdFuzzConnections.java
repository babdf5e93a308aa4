package dev.scemu.testkit.fuzz;

import dev.scemu.nbd.NbdServer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** What the NBD fuzzers wait for between conversations, with deadlines that hold on a loaded 2-core CI machine. */
final class NbdFuzzConnections {

    /** How long a server may take to answer, close a connection or let its thread go; passing runs take milliseconds. */
    static final int DEADLINE_MILLIS = 20_000;

    private NbdFuzzConnections() {
    }

    /**
     * Waits until the server counts no active connection: a closed connection counts as active until its thread
     * has left. Polls with a short park, not a spin, so the server's threads get the CPU.
     */
    static void awaitNoneActive(NbdServer server) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (server.stats().connectionsActive() > 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("a connection is still active " + DEADLINE_MILLIS / 1000
                        + " s after its client left");
            }
            LockSupport.parkNanos(100_000);
        }
    }
}
