package dev.scemu.core;

import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One power supply shared by several {@link FaultInjectingDevice}s (for example every member of
 * an array, the flash and the journal device): a cut hits all of them at the same instant.
 *
 * <p>The domain numbers every write and trim its devices receive, in arrival order, from 0: the
 * <em>write index</em>. A crash-point explorer runs a scenario once to count its writes, then for
 * each index {@code k} re-runs it with {@link #armCutAtWrite(long, PowerCutMode)}: write {@code k}
 * fails with {@link CoreError#POWER_LOST} and the cut drops what was not yet flushed. Everything
 * random (which blocks survive a torn cut) derives from the domain's seed, so a run replays
 * exactly.
 */
public final class PowerDomain {

    private final long seed;
    private final boolean emulatesWriteCache;
    private final Random random;
    private final List<FaultInjectingDevice> devices = new CopyOnWriteArrayList<>();
    private final AtomicLong nextWriteIndex = new AtomicLong();
    private volatile boolean powered = true;
    private volatile long armedWriteIndex = -1;
    private volatile PowerCutMode armedMode = PowerCutMode.DROP_UNFLUSHED;
    private volatile long cutCount;
    private volatile java.util.function.LongConsumer writeObserver;

    /** A domain whose devices emulate a disk's volatile write cache (see {@link FaultInjectingDevice}). */
    public PowerDomain(long seed) {
        this(seed, true);
    }

    private PowerDomain(long seed, boolean emulatesWriteCache) {
        this.seed = seed;
        this.random = new Random(mix(seed));
        this.emulatesWriteCache = emulatesWriteCache;
    }

    /**
     * A domain whose devices keep no emulated write cache: a write goes through to the inner device
     * and nothing is undone at a cut (a cut still fails the armed write and every later I/O until
     * power is restored, and flush/FUA still reach the inner device). For a process that serves a
     * unit's real files: a simulated cut cannot happen there, a {@code kill -9} keeps what the OS
     * page cache holds, and a host power loss is covered by the flushes the inner files pass on.
     * The undo log would cost a read and a copy of every block overwritten, for nothing.
     */
    public static PowerDomain writeThrough(long seed) {
        return new PowerDomain(seed, false);
    }

    /** Whether devices keep an undo log so that a cut loses unflushed writes ({@link #writeThrough} = false). */
    public boolean emulatesWriteCache() {
        return emulatesWriteCache;
    }

    /**
     * Spreads a seed over all 64 bits (murmur3's fmix64), so that nearby seeds (0, 1, 2...) give
     * unrelated random streams: {@code new Random(seed).nextInt(4)} is the same for many small
     * consecutive seeds.
     */
    static long mix(long seed) {
        long z = seed + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB93FE53B5A3BL;
        return z ^ (z >>> 33);
    }

    public long seed() {
        return seed;
    }

    /** Wraps {@code inner} in a fault-injecting device powered by this domain (the device takes ownership of inner). */
    public FaultInjectingDevice attach(BlockDevice inner) {
        FaultInjectingDevice device = new FaultInjectingDevice(inner, this, random.nextLong());
        devices.add(device);
        return device;
    }

    void attachExisting(FaultInjectingDevice device) {
        devices.add(device);
    }

    void detach(FaultInjectingDevice device) {
        devices.remove(device);
    }

    public boolean isPowered() {
        return powered;
    }

    /** Writes and trims numbered so far (the next write gets this index). */
    public long writeCount() {
        return nextWriteIndex.get();
    }

    /** How many times power was cut. */
    public long cutCount() {
        return cutCount;
    }

    /** Cuts power once write number {@code writeIndex} arrives (it is not acknowledged). */
    public void armCutAtWrite(long writeIndex, PowerCutMode mode) {
        if (writeIndex < 0) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "write index " + writeIndex + " is negative");
        }
        this.armedMode = mode;
        this.armedWriteIndex = writeIndex;
    }

    public void disarm() {
        armedWriteIndex = -1;
    }

    /** Cuts power now: every device loses what it had not flushed (per {@code mode}) and refuses I/O. */
    public synchronized void cut(PowerCutMode mode) {
        if (!powered) {
            return;
        }
        powered = false;
        armedWriteIndex = -1;
        cutCount++;
        for (FaultInjectingDevice device : devices) {
            device.losePower(mode);
        }
    }

    /** Restores power: devices accept I/O again and hold exactly what survived the cut. */
    public synchronized void restore() {
        powered = true;
    }

    /**
     * Test hook: {@code observer} is called with the index of every write and trim, on the writing
     * thread, before the device applies it (null removes it). Process-kill tests use it to stop a
     * child JVM at an exact write before killing it.
     */
    public void observeWrites(java.util.function.LongConsumer observer) {
        this.writeObserver = observer;
    }

    /**
     * Numbers a write; returns true if the armed cut fires on it. Called by devices before they
     * apply a write, outside their own lock.
     */
    boolean numberWrite() {
        long index = nextWriteIndex.getAndIncrement();
        java.util.function.LongConsumer observer = writeObserver;
        if (observer != null) {
            observer.accept(index);
        }
        return index == armedWriteIndex;
    }

    PowerCutMode armedMode() {
        return armedMode;
    }
}
