package dev.scemu.core.internal;

import java.util.Arrays;

/**
 * The unfinished transactions of an execution log, in begin order, without allocation per
 * operation: transaction ids grow in begin order, so they are kept in sorted parallel arrays,
 * found by binary search, marked when finished and compacted when the arrays fill up.
 * Not thread-safe (the log synchronizes).
 */
public final class ActiveTransactions {

    private long[] txIds = new long[16];
    private long[] beginOrdinals = new long[16];
    private boolean[] finished = new boolean[16];
    private int head;
    private int end;
    private int activeCount;

    /** Adds a transaction; its id must be above every id added before. */
    public void add(long txId, long beginOrdinal) {
        if (end > head && txIds[end - 1] >= txId) {
            throw new IllegalStateException("transaction id " + txId + " is not above " + txIds[end - 1]);
        }
        if (end == txIds.length) {
            compact();
        }
        txIds[end] = txId;
        beginOrdinals[end] = beginOrdinal;
        finished[end] = false;
        end++;
        activeCount++;
    }

    public boolean contains(long txId) {
        return indexOf(txId) >= 0;
    }

    /** Marks the transaction finished; returns false if it is not active. */
    public boolean finish(long txId) {
        int index = indexOf(txId);
        if (index < 0) {
            return false;
        }
        finished[index] = true;
        activeCount--;
        while (head < end && finished[head]) {
            head++;
        }
        return true;
    }

    public int size() {
        return activeCount;
    }

    public boolean isEmpty() {
        return activeCount == 0;
    }

    /** Id of the oldest active transaction; only when not empty. */
    public long oldestTxId() {
        return txIds[head];
    }

    /** Block ordinal of the oldest active transaction's BEGIN; only when not empty. */
    public long oldestBeginOrdinal() {
        return beginOrdinals[head];
    }

    private int indexOf(long txId) {
        int index = Arrays.binarySearch(txIds, head, end, txId);
        return index >= 0 && !finished[index] ? index : -1;
    }

    private void compact() {
        int live = 0;
        for (int i = head; i < end; i++) {
            if (!finished[i]) {
                txIds[live] = txIds[i];
                beginOrdinals[live] = beginOrdinals[i];
                finished[live] = false;
                live++;
            }
        }
        head = 0;
        end = live;
        if (end > txIds.length / 2) {
            txIds = Arrays.copyOf(txIds, txIds.length * 2);
            beginOrdinals = Arrays.copyOf(beginOrdinals, beginOrdinals.length * 2);
            finished = Arrays.copyOf(finished, finished.length * 2);
        }
    }
}
