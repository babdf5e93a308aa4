package dev.scemu.nbd.internal;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_DISC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REQUEST_MAGIC;

import dev.scemu.nbd.NbdCommand;
import java.io.EOFException;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection, served by its own request threads (nbdkit's "parallel" thread model; see
 * {@code docs/nbd.md}, "Concurrency and the hot path"). The thread that accepted it runs the
 * handshake, then it and the threads the connection adds take turns reading: the thread holding
 * the read role ({@link #readLock}) reads one request into a free {@link RequestSlot} (so at most
 * {@code maxInFlightPerConnection} are in flight; it waits for a slot otherwise), passes the role
 * on, executes the request and writes its reply itself ({@link ReplyWriter#send}, under the
 * connection's write lock). No request is handed from one thread to another. Replies may thus
 * leave in a different order than requests came in; each carries its request's handle.
 *
 * <h2>How many threads</h2>
 * A thread that read a request hands the read role to a thread waiting for it; when none waits, it
 * starts one (up to {@code threadsPerConnection}, and while the server-wide permits of
 * {@link ServerContext#requestThreads} last), so a client gets as many threads as it keeps
 * requests in flight. A client at queue depth 1 needs one: a READ or WRITE that arrives, like the
 * {@link #KEEP_READ_ROLE_AFTER_ALONE} requests before it, with no other request of the connection
 * executing and no further request bytes buffered, is executed by its reader <em>keeping</em> the
 * read role, so nothing is woken at all; any other request (a FLUSH, a trim, one with company)
 * passes the role on first, so a flush never holds up the requests behind it. A thread that waited
 * {@link #IDLE_THREAD_SECONDS} for the role while another held it ends (never the first thread).
 *
 * <h2>Ending</h2>
 * <p>Errors of a request are answered with an NBD error and the connection goes on; only a stream
 * that cannot be parsed (bad magic, unknown client flags, truncated message) or a failed socket
 * ends it. On {@code NBD_CMD_DISC}, end of stream or such an error the thread that read it stops
 * the reading; every thread finishes the request it executes and answers it, then ends; the first
 * thread waits for the requests in flight to be answered, then closes the connection. Nothing
 * interrupts a request thread: an interrupt during device I/O would close the member files' NIO
 * channels. Threads waiting for the read role or a slot are woken by the others finishing, threads
 * blocked on the socket by closing it.
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
 * {@code NBD_CMD_DISC}); requests executing finish and are answered normally. The connection keeps
 * answering new requests {@code ESHUTDOWN} for {@link #SHUTDOWN_GRACE_MILLIS}, so requests
 * already on the wire get their error, then the server shuts the socket's input down: the thread
 * that reads sees end of stream, the replies in flight are sent, and the connection closes (a clean close,
 * not counted as a protocol violation). A client that disconnects first ends it sooner.
 */
public final class Connection implements Runnable, ExportHandle.User, ConnectionTable.Member {

    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);
    private static final int INPUT_BUFFER_BYTES = 128 << 10;
    private static final long DRAIN_TIMEOUT_SECONDS = 30;
    private static final long DRAIN_POLL_MILLIS = 100;
    /** How often a reader waiting for payload budget looks whether the connection ended meanwhile. */
    private static final long BUDGET_POLL_MILLIS = 100;
    /** Consecutive lone requests after which a reader keeps the read role while it executes ({@link #keepsReadRole}). */
    public static final int KEEP_READ_ROLE_AFTER_ALONE = 8;
    /** How long a thread other than the first waits for the read role before it ends. */
    static final long IDLE_THREAD_SECONDS = 30;
    /** How long a connection shut down while open keeps answering ESHUTDOWN before it closes. */
    static final long SHUTDOWN_GRACE_MILLIS = 1_000;

    private final SocketChannel channel;
    private final ServerContext context;
    private final String peer;
    private final Consumer<Connection> onClosed;
    private final RequestSlot[] slots;
    private final BlockingQueue<RequestSlot> freeSlots;
    /** This connection's budget of READ/WRITE payload in flight, in KiB ({@link #reservePayload}). */
    private final Semaphore bufferedKib;
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
    /** The read role: held by the thread reading a request (and by one executing a lone request). */
    private final ReentrantLock readLock = new ReentrantLock();
    /**
     * Requests read whose execution has not ended (the one just read included). A lone request is
     * one that finds no other: counted down
     * before the reply is sent, so a client at queue depth 1 that got its reply always finds its
     * previous request done (its slot, which returns only after the reply was written, may still
     * be out then).
     */
    private final AtomicInteger executing = new AtomicInteger();
    /**
     * Requests read and not yet answered ({@link #requestsInFlight}): counted when a slot is taken
     * and uncounted before the reply is handed to the writer ({@link #answered}), not when the slot
     * returns after the write, so that a client that got its reply finds the request answered (the
     * connection idle for the transmission table) as it finds it in the stats.
     */
    private final AtomicInteger unanswered = new AtomicInteger();
    /** Requests in a row that found no other request executing (under {@link #readLock}; {@link #keepsReadRole}). */
    private int aloneStreak;
    /**
     * Set once the connection's first thread has ended: a slot that comes back afterwards has its
     * buffers freed at once ({@link #freeIdleSlots}) instead of waiting for the garbage collector.
     */
    private volatile boolean ended;
    /** Set once reading has ended (DISC, end of stream, failure): threads then finish their request and end. */
    private volatile boolean stopReading;
    /** What ended the reading if it was not DISC or a clean end of stream (the first one). */
    private final AtomicReference<Exception> endCause = new AtomicReference<>();
    /** The request threads the connection added to its first one (joined by {@link #shutdown}). */
    private final Set<Thread> addedThreads = ConcurrentHashMap.newKeySet();
    /** Added threads started and not yet waiting for the read role (under {@link #readLock} to count up). */
    private final AtomicInteger startingThreads = new AtomicInteger();
    private final AtomicInteger threadIds = new AtomicInteger();
    // transmission state, set by the first thread before it starts others
    private ChannelInput input;
    private IoEngine engine;
    private volatile ReplyWriter replies;
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
        this.bufferedKib = new Semaphore(kib(context.config().maxBufferedBytesPerConnection()));
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
        return unanswered.get();
    }

    /** The request of {@code slot} no longer counts in {@link #unanswered} (once per request). */
    private void answered(RequestSlot slot) {
        if (!slot.answered) {
            slot.answered = true;
            unanswered.decrementAndGet();
        }
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

    /** Closed to make room for a newer connection while still in the handshake (the server counted the eviction). */
    public void evictFromHandshake() {
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
        ChannelInput input = null;
        try {
            if (channel.supportedOptions().contains(StandardSocketOptions.TCP_NODELAY)) {
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            }
            transport = new Transport(channel);
            input = new ChannelInput(transport.in(), INPUT_BUFFER_BYTES);
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
            releaseMemory(input);
            onClosed.accept(this);
        }
    }

    /**
     * Frees the connection's direct buffers now that its first thread ends (the collector would
     * free them only when a collection finds them, and the server allocates next to nothing on the
     * heap: see {@link RequestSlot}). No thread reads a request any more: the first thread saw the
     * reading stop or the connection closed while it held the read role, and every thread that takes
     * the role afterwards sees the same and ends. Slots out with a request still executing are freed
     * by {@link #release} when they come back. The input buffer is freed only if no added thread is
     * left at all.
     */
    private void releaseMemory(ChannelInput input) {
        ended = true;
        freeIdleSlots();
        if (input != null && addedThreads.isEmpty() && startingThreads.get() == 0) {
            input.free();
        }
    }

    /** Frees the buffers of every slot in the free list, taking each out of it (once the connection has {@link #ended}). */
    private void freeIdleSlots() {
        for (RequestSlot slot = freeSlots.poll(); slot != null; slot = freeSlots.poll()) {
            slot.free();
        }
    }

    private void transmit(ChannelInput input, Handshake.Result result, ExportHandle export)
            throws IOException, InterruptedException {
        this.input = input;
        this.engine = new IoEngine(export, context.config().maxRequestBytes(), result.allocationContext(),
                () -> shutdownReason);
        this.replies = new ReplyWriter(transport.out(), result.structuredReplies(), peer, slots.length,
                this::release, this::close);
        try {
            serveRequests(true);
        } finally {
            // every request read gets its reply before the connection closes (DISC, end of stream)
            awaitRequestsInFlight();
        }
        Exception cause = endCause.get();
        if (cause instanceof IOException e) {
            throw e;
        } else if (cause instanceof InterruptedException e) {
            throw e;
        } else if (cause instanceof RuntimeException e) {
            throw e;
        }
    }

    /**
     * The loop of every request thread: take the read role, read one request, pass the role on
     * unless the request is lone ({@link #keepsReadRole}), execute it, send its reply; until the
     * reading stops. The first thread ({@code first}) never ends while the connection reads; an
     * added thread ends when it waited {@link #IDLE_THREAD_SECONDS} for the role (another thread
     * holds it then, so the connection always has a reader).
     */
    private void serveRequests(boolean first) {
        boolean reading = false;
        RequestSlot slot = null;
        try {
            while (true) {
                if (!reading) {
                    if (first) {
                        readLock.lock();
                    } else if (!readLock.tryLock(IDLE_THREAD_SECONDS, TimeUnit.SECONDS)) {
                        return;
                    }
                    reading = true;
                }
                if (stopReading || closed) {
                    return;
                }
                slot = readRequest();
                if (slot == null) {
                    return;
                }
                executing.incrementAndGet();
                if (!keepsReadRole(slot)) {
                    passReadRole();
                    reading = false;
                }
                RequestSlot executed = slot;
                slot = null;
                execute(executed);
                executing.decrementAndGet(); // before the reply leaves: a client that got it finds the request done
                answered(executed); // likewise
                replies.send(executed);
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            if (slot != null) {
                release(slot); // read but never executed: give it back so closing does not wait for it
            }
            endCause.compareAndSet(null, e);
            stopReading = true;
        } finally {
            if (reading) {
                readLock.unlock();
            }
        }
    }

    /**
     * Reads one request (under {@link #readLock}) into a free slot, validated, with its WRITE
     * payload; null (and the reading stops) on {@code NBD_CMD_DISC} or a clean end of stream.
     */
    private RequestSlot readRequest() throws IOException, InterruptedException {
        if (!input.awaitData()) {
            LOG.debug("{}: client closed the connection", peer);
            stopReading = true;
            return null;
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
        context.counters().request(command);
        if (type == NBD_CMD_DISC) {
            LOG.debug("{}: NBD_CMD_DISC", peer);
            stopReading = true;
            return null;
        }
        RequestSlot slot = freeSlots.take();
        slot.answered = false;
        unanswered.incrementAndGet();
        try {
            slot.begin(type, command, flags, handle, offsetBytes, lengthBytes);
            engine.validate(slot);
            if ((type == NBD_CMD_WRITE || type == NbdProtocol.NBD_CMD_READ) && slot.error == 0 && lengthBytes > 0) {
                reservePayload(slot);
            }
            if (type == NBD_CMD_WRITE) {
                if (slot.error == 0 && lengthBytes > 0) {
                    input.readFully(slot.data(engine.spanBytes(offsetBytes, lengthBytes)),
                            engine.headPaddingBytes(offsetBytes), (int) lengthBytes);
                } else {
                    input.skip(lengthBytes);
                }
            }
        } catch (IOException | RuntimeException e) {
            release(slot);
            throw e;
        }
        return slot;
    }

    /**
     * Whether the reader keeps the read role while it executes this request: a READ or WRITE that
     * arrived, like the {@link #KEEP_READ_ROLE_AFTER_ALONE} requests before it, while no other
     * request of the connection was executing ({@link #executing}) and no further request bytes
     * were buffered: a client at queue depth 1, whose next request cannot come before this reply,
     * so passing the role on would only wake a thread to wait in the socket. A deeper client, which
     * leaves requests in flight most of the time, always gets the role passed on (measured on the
     * old worker model: executing its occasional lone request without a reader cost it 17 % of its
     * 4 KiB random-read IOPS at QD16), and so does a FLUSH or a trim, which must not hold up the
     * requests behind it. Called under {@link #readLock}.
     */
    private boolean keepsReadRole(RequestSlot slot) {
        boolean alone = input.buffered() == 0 && executing.get() == 1;
        aloneStreak = alone ? Math.min(aloneStreak + 1, KEEP_READ_ROLE_AFTER_ALONE) : 0;
        return aloneStreak >= KEEP_READ_ROLE_AFTER_ALONE
                && (slot.type == NbdProtocol.NBD_CMD_READ || slot.type == NBD_CMD_WRITE);
    }

    /**
     * Lets the read role go (under {@link #readLock}, which it releases): to the thread waiting
     * longest for it, or, when none waits or is on its way, to a new thread, if this connection has
     * fewer than {@code threadsPerConnection} and the server has a permit left. Otherwise the role
     * stays free until a thread finishes its request.
     */
    private void passReadRole() {
        boolean start = !readLock.hasQueuedThreads() && startingThreads.get() == 0
                && 1 + addedThreads.size() < context.config().threadsPerConnection()
                && context.requestThreads().tryAcquire();
        if (start) {
            startingThreads.incrementAndGet();
        }
        readLock.unlock();
        if (start) {
            startThread();
        }
    }

    private void startThread() {
        Thread added = new Thread(this::runAddedThread, peer + "-" + threadIds.incrementAndGet());
        added.setDaemon(true);
        addedThreads.add(added);
        try {
            added.start();
        } catch (RuntimeException | OutOfMemoryError e) { // no native thread: go on with the threads there are
            addedThreads.remove(added);
            startingThreads.decrementAndGet();
            context.requestThreads().release();
            LOG.warn("{}: cannot start a request thread: {}", peer, e.toString());
        }
    }

    private void runAddedThread() {
        try {
            startingThreads.decrementAndGet();
            serveRequests(false);
        } finally {
            addedThreads.remove(Thread.currentThread());
            context.requestThreads().release();
        }
    }

    /** Executes a request (an unexpected failure becomes an EIO reply) and counts it. */
    private void execute(RequestSlot slot) {
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
        answered(slot); // a request dropped unanswered (its connection failed) is not in flight either
        lastActivityNanos = System.nanoTime();
        if (slot.budgetKib > 0) {
            context.bufferedKib().release(slot.budgetKib);
            bufferedKib.release(slot.budgetKib);
            slot.budgetKib = 0;
        }
        slot.finish();
        freeSlots.add(slot);
        if (ended) {
            freeIdleSlots();
        }
    }

    /** Permits of a byte budget: whole KiB, at most {@link Integer#MAX_VALUE}. */
    public static int kib(long bytes) {
        return (int) Math.min(Integer.MAX_VALUE, (bytes + 1023) >> 10);
    }

    /**
     * Takes a validated READ or WRITE's payload out of the connection's budget, then the server's,
     * before its buffer is allocated (the WRITE payload read): a client that pipelines large
     * requests and never reads the replies holds at most {@code maxBufferedBytesPerConnection} of
     * memory, and all clients together at most the server's budget. The reader waits holding the
     * read role (back-pressure on this connection only, whose earlier replies free the budget as
     * they leave); it looks every {@value #BUDGET_POLL_MILLIS} ms whether the connection ended, since
     * nothing interrupts it. Returned by {@link #release}.
     */
    private void reservePayload(RequestSlot slot) throws IOException, InterruptedException {
        int kib = kib(slot.lengthBytes);
        while (!bufferedKib.tryAcquire(kib, BUDGET_POLL_MILLIS, TimeUnit.MILLISECONDS)) {
            checkStillServing();
        }
        try {
            while (!context.bufferedKib().tryAcquire(kib, BUDGET_POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                checkStillServing();
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            bufferedKib.release(kib);
            throw e;
        }
        slot.budgetKib = kib;
    }

    private void checkStillServing() throws IOException {
        if (closed || stopReading) {
            throw new IOException("connection ended while a request waited for payload budget");
        }
    }

    /**
     * Waits (bounded) until every slot is back, i.e. every request read has been answered; stops
     * waiting once the connection is closed (nothing more can be answered then).
     */
    private void awaitRequestsInFlight() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DRAIN_TIMEOUT_SECONDS);
        List<RequestSlot> back = new ArrayList<>(slots.length);
        try {
            while (back.size() < slots.length && !closed) {
                if (System.nanoTime() - deadline > 0) {
                    LOG.warn("{}: {} requests still in flight at close", peer, slots.length - back.size());
                    return;
                }
                RequestSlot slot = freeSlots.poll(DRAIN_POLL_MILLIS, TimeUnit.MILLISECONDS);
                if (slot != null) {
                    back.add(slot);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            freeSlots.addAll(back); // free again, for releaseMemory to free their buffers
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

    /** Shuts the socket's input down: the reading thread sees end of stream and the connection closes cleanly. */
    private void endInput() {
        inputEnded = true;
        try {
            channel.shutdownInput();
        } catch (IOException e) {
            LOG.debug("{}: shutting input down failed: {}", peer, e.toString());
        }
    }

    /** Closes the socket (idempotent): the reading thread ends, replies not yet sent are dropped. */
    /**
     * Closes the connection if a reply write has made no progress for {@code limitNanos}: its client
     * stopped reading while the server holds replies (and their payload budget) for it. Closing the
     * socket ends the blocked write; the slots and their budget come back. Counted as an eviction
     * ({@code NbdStats.connectionsEvicted}). True if it closed it.
     */
    public boolean closeIfRepliesStalled(long nowNanos, long limitNanos) {
        ReplyWriter writer = replies;
        if (closed || writer == null || writer.stalledNanos(nowNanos) <= limitNanos) {
            return false;
        }
        LOG.info("{}: closing: the client has read none of its replies for {} ms", peer,
                TimeUnit.NANOSECONDS.toMillis(writer.stalledNanos(nowNanos)));
        context.counters().connectionEvicted();
        close();
        return true;
    }

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

    /**
     * Closes the connection and waits up to {@code timeoutMillis} for its threads to end. Never
     * interrupts them (one may be in device I/O, which an interrupt would break: the member files'
     * NIO channels close on it); closing the socket wakes every thread blocked on it, and the
     * others end after the request they execute.
     */
    public void shutdown(long timeoutMillis) throws InterruptedException {
        close();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        join(thread, deadline);
        for (Thread added : addedThreads) {
            join(added, deadline);
        }
    }

    private static void join(Thread t, long deadlineNanos) throws InterruptedException {
        long left = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
        if (t != null && t != Thread.currentThread() && left > 0) {
            t.join(left);
        }
    }
}
