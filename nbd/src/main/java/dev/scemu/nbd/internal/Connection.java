package dev.scemu.nbd.internal;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_DISC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REQUEST_MAGIC;

import dev.scemu.nbd.NbdCommand;
import java.io.EOFException;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection. Its thread runs the handshake, then reads requests: each one takes a
 * free {@link RequestSlot} (so at most {@code maxInFlightPerConnection} are in flight; the
 * reader waits for a slot otherwise), its WRITE payload is read into the slot's buffer, and the
 * slot goes to the server's worker pool, which executes it and hands it to the connection's
 * {@link ReplyWriter} thread, which sends the reply and frees the slot. Replies may thus leave in
 * a different order than requests came in; each carries its request's handle.
 *
 * <p>Errors of a request are answered with an NBD error and the connection goes on; only a stream
 * that cannot be parsed (bad magic, unknown client flags, truncated message) or a failed socket
 * ends it. On {@code NBD_CMD_DISC} or end of stream the connection waits for the requests in
 * flight to be answered, then closes.
 *
 * <h2>Handshake deadline</h2>
 * {@link #startHandshakeTimer()} closes the connection if it has not entered transmission within
 * the configured handshake timeout (whatever it is waiting for: client bytes, or the client
 * reading the server's replies). Entering transmission needs a slot from the server's
 * {@link ConnectionTable}, which may evict an idle connection to make room.
 *
 * <h2>Shut down while open</h2>
 * When the connection's export is removed ({@link #exportRemoved}) or the connection is evicted to
 * make room for another ({@link #evictIdle}), requests not yet executing are answered
 * {@code ESHUTDOWN} (the protocol's "server shutting down": the client must then send
 * {@code NBD_CMD_DISC}); requests executing finish and are answered normally. The reader keeps
 * answering new requests {@code ESHUTDOWN} for {@link #SHUTDOWN_GRACE_MILLIS}, so requests
 * already on the wire get their error, then the server shuts the socket's input down: the reader
 * sees end of stream, waits for the replies in flight, and closes the connection (a clean close,
 * not counted as a protocol violation). A client that disconnects first ends it sooner.
 */
public final class Connection implements Runnable, ExportHandle.User, ConnectionTable.Member {

    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);
    private static final int INPUT_BUFFER_BYTES = 128 << 10;
    private static final long DRAIN_TIMEOUT_SECONDS = 30;
    private static final long DRAIN_POLL_MILLIS = 100;
    /** Consecutive lone requests after which the reader executes requests itself ({@link #runsInline}). */
    public static final int INLINE_AFTER_ALONE = 8;
    /** How long a connection shut down while open keeps answering ESHUTDOWN before it closes. */
    static final long SHUTDOWN_GRACE_MILLIS = 1_000;

    private final SocketChannel channel;
    private final ServerContext context;
    private final String peer;
    private final Consumer<Connection> onClosed;
    private final RequestSlot[] slots;
    private final BlockingQueue<RequestSlot> freeSlots;
    private volatile boolean closed;
    /** Set when the server shut the socket's input down on purpose (end of stream is then expected). */
    private volatile boolean inputEnded;
    private volatile Thread thread;
    private volatile long lastActivityNanos = System.nanoTime();
    /** Why requests are answered ESHUTDOWN (the connection was evicted); null while it is served. */
    private volatile String shutdownReason;
    private volatile ScheduledFuture<?> handshakeTimer;
    /** The export this connection is attached to (from admission to close); only the connection's thread writes it. */
    private ExportHandle attachedExport;
    /**
     * Requests dispatched to the workers and not yet executed. A lone request is one that finds
     * none: counted down before the reply is handed to the writer, so a client at queue depth 1
     * that got its reply always finds its previous request done (the slot, which returns only
     * after the reply was written, can still be out then).
     */
    private final java.util.concurrent.atomic.AtomicInteger executing = new java.util.concurrent.atomic.AtomicInteger();
    /** Set while the reader executes a request itself ({@link #executeInline}). */
    private volatile boolean executingInline;
    /** Requests in a row that found no other request executing (reader thread only; {@link #runsInline}). */
    private int aloneStreak;
    /** The connection's streams (plain or TLS); set by the connection's thread before the handshake. */
    private volatile Transport transport;

    public Connection(SocketChannel channel, ServerContext context, String peer, Consumer<Connection> onClosed) {
        this.channel = channel;
        this.context = context;
        this.peer = peer;
        this.onClosed = onClosed;
        int slotCount = context.config().maxInFlightPerConnection();
        this.slots = new RequestSlot[slotCount];
        this.freeSlots = new ArrayBlockingQueue<>(slotCount);
        for (int i = 0; i < slotCount; i++) {
            slots[i] = new RequestSlot();
            freeSlots.add(slots[i]);
        }
    }

    public String peer() {
        return peer;
    }

    @Override
    public int requestsInFlight() {
        return slots.length - freeSlots.size();
    }

    @Override
    public long lastActivityNanos() {
        return lastActivityNanos;
    }

    /** Arms the handshake deadline (call once, right after the connection was admitted to the table). */
    public void startHandshakeTimer() {
        long timeoutMillis = context.config().handshakeTimeoutMillis();
        try {
            handshakeTimer = context.timer().schedule(this::handshakeExpired, timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            close(); // the server is closing
        }
    }

    private void handshakeExpired() {
        if (context.table().expireHandshake(this)) {
            context.counters().handshakeTimeout();
            LOG.info("{}: handshake not finished within {} ms: closing", peer,
                    context.config().handshakeTimeoutMillis());
            close();
        }
    }

    /** Closed to make room for a newer connection while still in the handshake. */
    public void evictFromHandshake() {
        context.counters().connectionEvicted();
        LOG.info("{}: closing: every handshake slot is taken and this is the oldest handshake", peer);
        close();
    }

    /**
     * Asked by the handshake before it tells the client it is in transmission: attaches to the export
     * (so it counts as open from now on) and takes a transmission slot. Null if admitted, else the
     * refusal (nothing held then).
     */
    private Handshake.Refusal admitToTransmission(ExportHandle export) {
        if (!export.attach(this)) {
            return new Handshake.Refusal(NbdProtocol.NBD_REP_ERR_UNKNOWN,
                    "export '" + export.name() + "' has been removed");
        }
        ConnectionTable.Admission admission = context.table().enterTransmission(this);
        if (!admission.admitted()) {
            export.detach(this);
            context.counters().connectionRefused();
            LOG.info("{}: transmission refused: {}", peer, admission.refusal());
            return new Handshake.Refusal(NbdProtocol.NBD_REP_ERR_POLICY, admission.refusal());
        }
        attachedExport = export;
        ScheduledFuture<?> timer = handshakeTimer;
        if (timer != null) {
            timer.cancel(false);
        }
        lastActivityNanos = System.nanoTime();
        if (admission.victim() instanceof Connection victim) {
            context.counters().connectionEvicted();
            victim.evictIdle("idle connection evicted: the server's " + context.config().maxConnections()
                    + " transmission slots are taken and " + peer + " needs one");
        }
        return null;
    }

    /** Evicted from transmission to make room for another connection (it had no request in flight). */
    void evictIdle(String reason) {
        shutdownReason = reason;
        LOG.info("{}: {}: answering ESHUTDOWN, closing in {} ms", peer, reason, SHUTDOWN_GRACE_MILLIS);
        scheduleEndOfInput();
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        try {
            if (channel.supportedOptions().contains(StandardSocketOptions.TCP_NODELAY)) {
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            }
            transport = new Transport(channel);
            ChannelInput input = new ChannelInput(transport.in(), INPUT_BUFFER_BYTES);
            Handshake.Result result = new Handshake(transport, input, context, peer, this::admitToTransmission).run();
            if (result != null) {
                LOG.debug("{}: transmission on export '{}' (structured replies: {})", peer, result.export().name(),
                        result.structuredReplies());
                transmit(input, result, result.export());
            }
        } catch (ProtocolViolationException e) {
            context.counters().protocolViolation();
            LOG.info("{}: closing connection, protocol violation: {}", peer, e.getMessage());
        } catch (EOFException e) {
            if (!closed && !inputEnded) {
                context.counters().protocolViolation();
                LOG.info("{}: closing connection, stream truncated: {}", peer, e.getMessage());
            }
        } catch (IOException e) {
            if (!closed) {
                LOG.debug("{}: connection failed: {}", peer, e.toString());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.warn("{}: closing connection after an unexpected error", peer, e);
        } finally {
            endTls();
            close();
            if (attachedExport != null) {
                attachedExport.detach(this);
            }
            onClosed.accept(this);
        }
    }

    private void transmit(ChannelInput input, Handshake.Result result, ExportHandle export)
            throws IOException, InterruptedException {
        IoEngine engine = new IoEngine(export, context.config().maxRequestBytes(), result.allocationContext(),
                () -> shutdownReason);
        ReplyWriter writer = new ReplyWriter(transport.out(), result.structuredReplies(), peer, slots.length,
                this::release, this::close);
        Thread writerThread = new Thread(writer, peer + "-writer");
        writerThread.setDaemon(true);
        writerThread.start();
        try {
            readRequests(input, engine, writer);
        } finally {
            // every request read gets its reply before the writer stops (DISC, end of stream)
            awaitRequestsInFlight();
            writer.stop();
        }
    }

    private void readRequests(ChannelInput input, IoEngine engine, ReplyWriter writer)
            throws IOException, InterruptedException {
        ServerCounters counters = context.counters();
        while (!closed) {
            if (!input.awaitData()) {
                LOG.debug("{}: client closed the connection", peer);
                return;
            }
            int magic = input.readInt();
            if (magic != NBD_REQUEST_MAGIC) {
                throw new ProtocolViolationException("request magic 0x" + Integer.toHexString(magic)
                        + " is not NBD_REQUEST_MAGIC");
            }
            int flags = input.readUnsignedShort();
            int type = input.readUnsignedShort();
            long handle = input.readLong();
            long offsetBytes = input.readLong();
            long lengthBytes = input.readInt() & 0xffffffffL;
            lastActivityNanos = System.nanoTime();
            NbdCommand command = NbdCommand.of(type);
            counters.request(command);
            if (type == NBD_CMD_DISC) {
                LOG.debug("{}: NBD_CMD_DISC", peer);
                return;
            }
            RequestSlot slot = freeSlots.take();
            try {
                slot.begin(type, command, flags, handle, offsetBytes, lengthBytes);
                engine.validate(slot);
                if (type == NBD_CMD_WRITE) {
                    if (slot.error == 0 && lengthBytes > 0) {
                        input.readFully(slot.data(engine.spanBytes(offsetBytes, lengthBytes)),
                                engine.headPaddingBytes(offsetBytes), (int) lengthBytes);
                    } else {
                        input.skip(lengthBytes);
                    }
                }
            } catch (IOException | RuntimeException e) {
                release(slot); // never dispatched: give it back so closing does not wait for it
                throw e;
            }
            if (runsInline(slot, input)) {
                executeInline(slot, engine, writer);
            } else {
                dispatch(slot, engine, writer);
            }
        }
    }

    /**
     * Whether the reader executes this request itself: a READ or WRITE that arrived, like the
     * {@link #INLINE_AFTER_ALONE} requests before it, while no other request of the connection was
     * executing ({@link #executing}) and no further request bytes were buffered (a client at queue
     * depth 1; a deeper client, which leaves requests in flight most of the time, keeps every
     * request on the workers: measured, executing its occasional lone request on the reader cost
     * it 17 % of its 4 KiB random-read IOPS at QD16). A client at queue depth 1 then costs no
     * thread hand-off at all (the reader executes and, with the writer idle,
     * answers: {@link ReplyWriter#sendNow}), where a dispatched request crosses three threads.
     * Anything else, or a request with company, goes to the workers, so requests of a deeper
     * queue still run in parallel and a FLUSH or a trim never holds the reader. Blocking the
     * reader blocks only this connection, as back-pressure already does.
     */
    private boolean runsInline(RequestSlot slot, ChannelInput input) {
        boolean alone = input.buffered() == 0 && executing.get() == 0;
        aloneStreak = alone ? Math.min(aloneStreak + 1, INLINE_AFTER_ALONE) : 0;
        return aloneStreak >= INLINE_AFTER_ALONE
                && (slot.type == NbdProtocol.NBD_CMD_READ || slot.type == NBD_CMD_WRITE);
    }

    private void dispatch(RequestSlot slot, IoEngine engine, ReplyWriter writer) throws IOException {
        executing.incrementAndGet();
        try {
            context.workers().execute(() -> process(slot, engine, writer));
        } catch (RejectedExecutionException e) {
            executing.decrementAndGet();
            release(slot);
            throw new IOException("server is shutting down", e);
        }
    }

    /** Runs on a worker: executes the request and hands the reply to the writer (which releases the slot). */
    private void process(RequestSlot slot, IoEngine engine, ReplyWriter writer) {
        try {
            execute(slot, engine);
        } finally {
            executing.decrementAndGet(); // before the reply leaves: a client that got it finds the request done
            writer.submit(slot);
        }
    }

    /**
     * Executes a request on the reader and answers it. {@link #shutdown} interrupts the reader to
     * wake it from waits, but an interrupt during device I/O would close the member files' NIO
     * channels (a flush under a snapshot commit is a {@code FileChannel.force}): so the reader
     * announces the execution, then checks {@code closed}, while shutdown sets {@code closed},
     * then interrupts only if no execution is announced (both volatile: one of the two sees the
     * other). A request the reader finds closed is dropped, like the replies of a closed connection.
     */
    private void executeInline(RequestSlot slot, IoEngine engine, ReplyWriter writer) {
        executingInline = true;
        try {
            if (closed) {
                release(slot);
                return;
            }
            execute(slot, engine);
        } finally {
            executingInline = false;
        }
        writer.sendNow(slot);
    }

    /** Executes a request (an unexpected failure becomes an EIO reply) and counts it. */
    private void execute(RequestSlot slot, IoEngine engine) {
        try {
            if (slot.error == 0) {
                engine.execute(slot);
            }
            // counted before the reply leaves, so a client that saw the reply sees it in the stats
            context.counters().completed(slot.command, slot.error, slot.lengthBytes);
        } catch (RuntimeException | Error e) {
            LOG.warn("{}: request {} failed unexpectedly", peer, slot.command, e);
            slot.fail(NbdProtocol.NBD_EIO, String.valueOf(e));
        }
    }

    private void release(RequestSlot slot) {
        lastActivityNanos = System.nanoTime();
        slot.finish();
        freeSlots.add(slot);
    }

    /**
     * Waits (bounded) until every slot is back, i.e. every request read has been answered; stops
     * waiting once the connection is closed (nothing more can be answered then).
     */
    private void awaitRequestsInFlight() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DRAIN_TIMEOUT_SECONDS);
        int back = 0;
        try {
            while (back < slots.length && !closed) {
                if (System.nanoTime() - deadline > 0) {
                    LOG.warn("{}: {} requests still in flight at close", peer, slots.length - back);
                    return;
                }
                if (freeSlots.poll(DRAIN_POLL_MILLIS, TimeUnit.MILLISECONDS) != null) {
                    back++;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The export went away: answer ESHUTDOWN (see {@link IoEngine}) and end the input after the grace period. */
    @Override
    public void exportRemoved(ExportHandle export) {
        LOG.info("{}: export '{}' removed: answering ESHUTDOWN, closing in {} ms", peer, export.name(),
                SHUTDOWN_GRACE_MILLIS);
        scheduleEndOfInput();
    }

    private void scheduleEndOfInput() {
        try {
            context.timer().schedule(this::endInput, SHUTDOWN_GRACE_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            close(); // the server is closing anyway
        }
    }

    /**
     * Sends TLS close_notify before the socket closes (the spec: shut the TLS session down first),
     * unless the socket is already closed. Bounded: a client that does not read could block it, so
     * the timer closes the socket after the grace period.
     */
    private void endTls() {
        Transport t = transport;
        if (t == null || !t.tlsActive() || closed) {
            return;
        }
        ScheduledFuture<?> guard = null;
        try {
            guard = context.timer().schedule(this::close, SHUTDOWN_GRACE_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            return; // the server is closing: close() follows at once
        }
        t.closeTls();
        guard.cancel(false);
    }

    /** Shuts the socket's input down: the reader sees end of stream and the connection closes cleanly. */
    private void endInput() {
        inputEnded = true;
        try {
            channel.shutdownInput();
        } catch (IOException e) {
            LOG.debug("{}: shutting input down failed: {}", peer, e.toString());
        }
    }

    /** Closes the socket (idempotent): the reader ends, the writer drops the replies not yet sent. */
    public void close() {
        closed = true;
        ScheduledFuture<?> timer = handshakeTimer;
        if (timer != null) {
            timer.cancel(false);
        }
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("{}: close failed: {}", peer, e.toString());
        }
    }

    /** Closes the connection and waits up to {@code timeoutMillis} for its thread to end. */
    public void shutdown(long timeoutMillis) throws InterruptedException {
        close();
        Thread t = thread;
        if (t != null && t != Thread.currentThread()) {
            if (!executingInline) { // see executeInline: never interrupt device I/O
                t.interrupt();
            }
            t.join(timeoutMillis);
        }
    }
}
