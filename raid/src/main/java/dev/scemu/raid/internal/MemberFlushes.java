package dev.scemu.raid.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Flushes several members at the same time. A member flush on file media is an {@code fdatasync}
 * or {@code msync} that waits for the host's disk (milliseconds); one after another, an array's
 * flush cost the sum over its members, and every snapshot commit and bitmap update waits for one.
 *
 * <p>Ordering: a flush of the array returns only after every member's flush returned (or failed),
 * which is all the callers rely on (a flush makes the writes completed before it durable). Nothing
 * orders member flushes among themselves: a cut during them may leave any subset of members
 * flushed, as it may between two sequential flushes. Flushes do not write, so they number no writes
 * of a {@link dev.scemu.core.PowerDomain} and a seeded crash run replays the same.
 *
 * <p>Threads: one shared pool of daemon threads, created on demand and ended after 30 s idle; the
 * caller flushes the first member itself, so a one-member flush uses no thread.
 */
final class MemberFlushes {

    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final ExecutorService POOL = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), runnable -> {
                Thread thread = new Thread(runnable, "raid-flush-" + THREADS.incrementAndGet());
                thread.setDaemon(true);
                return thread;
            });

    private MemberFlushes() {
    }

    /**
     * Flushes every device of {@code members} concurrently and waits for all of them. Returns, per
     * member, the {@link CoreException} its flush threw, or null; any other exception is rethrown
     * after every flush has returned.
     */
    static CoreException[] flushAll(List<BlockDevice> members) {
        return flushAll(members, 0, -1);
    }

    /**
     * {@link #flushAll(List)} of member blocks {@code [memberLba, memberLba + blockCount)} of each
     * member ({@link BlockDevice#flushRange}); a count of -1 flushes the whole members.
     */
    static CoreException[] flushAll(List<BlockDevice> members, long memberLba, long blockCount) {
        CoreException[] errors = new CoreException[members.size()];
        if (members.isEmpty()) {
            return errors;
        }
        RuntimeException[] unexpected = new RuntimeException[members.size()];
        CompletableFuture<?>[] others = new CompletableFuture<?>[members.size() - 1];
        for (int i = 1; i < members.size(); i++) {
            int index = i;
            others[i - 1] = CompletableFuture.runAsync(
                    () -> flushOne(members, index, memberLba, blockCount, errors, unexpected), POOL);
        }
        flushOne(members, 0, memberLba, blockCount, errors, unexpected);
        boolean interrupted = false;
        for (CompletableFuture<?> other : others) {
            while (true) {
                try {
                    other.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // a flush in flight cannot be abandoned: its member's state would be unknown
                } catch (java.util.concurrent.ExecutionException e) {
                    break; // flushOne catches everything; unreachable in practice
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        for (RuntimeException e : unexpected) {
            if (e != null) {
                throw e;
            }
        }
        return errors;
    }

    private static void flushOne(List<BlockDevice> members, int index, long memberLba, long blockCount,
                                 CoreException[] errors, RuntimeException[] unexpected) {
        try {
            if (blockCount < 0) {
                members.get(index).flush();
            } else {
                members.get(index).flushRange(memberLba, blockCount);
            }
        } catch (CoreException e) {
            errors[index] = e;
        } catch (RuntimeException e) {
            unexpected[index] = e;
        }
    }
}
