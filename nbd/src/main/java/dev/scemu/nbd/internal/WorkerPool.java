package dev.scemu.nbd.internal;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * The server's request workers, sized by demand: connections in transmission × requests one
 * connection may have in flight, between a floor and a ceiling.
 *
 * <h2>Why</h2>
 * A request occupies its worker for the whole device call, and a device call may block (a flush,
 * a lock of the volume, a RAID read-modify-write waiting for a stripe). With a fixed pool of
 * {@code 2 × cores} workers, a client at queue depth 16 (or four clients at depth 4) had at most
 * that many requests inside the device and the rest queued in the server, so a device that could
 * serve them in parallel never saw them. Every request a client may have in flight now can have a
 * worker, so the device sees the client's real queue depth.
 *
 * <h2>Sizing rule</h2>
 * {@code target = clamp(transmitting × depth, floor, ceiling)}, where {@code transmitting} is read
 * from the {@link ConnectionTable} (lock-free) at every {@link #execute}. The pool's core size
 * follows the target; threads are created on demand (a submission while fewer than {@code target}
 * threads exist starts one) and a thread idle for {@link #KEEP_ALIVE_SECONDS} ends, so an idle
 * server holds no threads and a server that lost its clients shrinks back. The ceiling bounds the
 * threads whatever the clients do (each connection also bounds its own requests by its slots).
 * A fixed size ({@code floor == ceiling}) reproduces the old fixed pool.
 */
public final class WorkerPool extends ThreadPoolExecutor {

    /** Seconds an idle worker lives. */
    public static final long KEEP_ALIVE_SECONDS = 30;

    private final IntSupplier transmitting;
    private final int depth;
    private final int floor;
    private final int ceiling;
    private volatile int target;

    /**
     * @param transmitting connections in transmission now (cheap, called per request)
     * @param depth requests one connection may have in flight
     * @param floor fewest workers the target ever asks for (at least 1)
     * @param ceiling most workers ever (at least {@code floor})
     */
    public WorkerPool(IntSupplier transmitting, int depth, int floor, int ceiling, ThreadFactory threads) {
        super(floor, ceiling, KEEP_ALIVE_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), threads);
        if (floor < 1 || ceiling < floor || depth < 1) {
            throw new IllegalArgumentException("worker pool floor " + floor + ", ceiling " + ceiling + ", depth " + depth);
        }
        this.transmitting = transmitting;
        this.depth = depth;
        this.floor = floor;
        this.ceiling = ceiling;
        this.target = floor;
        allowCoreThreadTimeOut(true);
    }

    /** The size the pool aims at for {@code connections} connections in transmission. */
    public static int targetFor(int connections, int depth, int floor, int ceiling) {
        long wanted = (long) connections * depth;
        return (int) Math.max(floor, Math.min(ceiling, wanted));
    }

    @Override
    public void execute(Runnable command) {
        int wanted = targetFor(transmitting.getAsInt(), depth, floor, ceiling);
        if (wanted != target) {
            resize(wanted);
        }
        super.execute(command);
    }

    private synchronized void resize(int wanted) {
        if (wanted != target) {
            target = wanted;
            setCorePoolSize(wanted); // ≤ ceiling = maximumPoolSize; shrinking lets extra threads end when idle
        }
    }

    /** The size the pool currently aims at. */
    public int target() {
        return target;
    }

    public int floor() {
        return floor;
    }

    public int ceiling() {
        return ceiling;
    }
}
