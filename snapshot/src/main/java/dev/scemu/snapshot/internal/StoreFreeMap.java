package dev.scemu.snapshot.internal;

import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;

/**
 * Which blocks of the store's copy pool are in use: an off-heap bitmap (bit set = used), searched
 * word by word from a rotating cursor. Not thread-safe: guarded by the volume's lock.
 */
final class StoreFreeMap {

    private final long blockCount;
    private final long wordCount;
    private final OffHeapRegion words;
    private long usedCount;
    private long cursorWord;

    StoreFreeMap(long blockCount) {
        this.blockCount = blockCount;
        this.wordCount = (blockCount + 63) >>> 6;
        this.words = new OffHeapRegion(wordCount * 8);
    }

    long blockCount() {
        return blockCount;
    }

    long usedCount() {
        return usedCount;
    }

    long freeCount() {
        return blockCount - usedCount;
    }

    long wordCount() {
        return wordCount;
    }

    long word(long index) {
        return words.readLong(index * 8);
    }

    boolean isUsed(long block) {
        return (word(block >>> 6) & (1L << (block & 63))) != 0;
    }

    void markUsed(long block) {
        long w = word(block >>> 6);
        long bit = 1L << (block & 63);
        if ((w & bit) != 0) {
            throw new SnapshotException(SnapshotError.CORRUPT_METADATA, "store block " + block + " is used twice");
        }
        words.writeLong((block >>> 6) * 8, w | bit);
        usedCount++;
    }

    void markFree(long block) {
        long w = word(block >>> 6);
        long bit = 1L << (block & 63);
        if ((w & bit) == 0) {
            throw new IllegalStateException("store block " + block + " is already free");
        }
        words.writeLong((block >>> 6) * 8, w & ~bit);
        usedCount--;
    }

    /** A free block, now marked used. Caller checked {@link #freeCount()} first. */
    long allocate() {
        if (usedCount >= blockCount) {
            throw new SnapshotException(SnapshotError.STORE_FULL, "snapshot store is full: " + blockCount + " blocks in use");
        }
        for (long scanned = 0; scanned <= wordCount; scanned++) {
            long index = cursorWord;
            long w = word(index);
            if (w != -1L) {
                long block = (index << 6) + Long.numberOfTrailingZeros(~w);
                if (block < blockCount) {
                    markUsed(block);
                    return block;
                }
            }
            cursorWord = index + 1 == wordCount ? 0 : index + 1;
        }
        throw new IllegalStateException("free map count " + usedCount + " disagrees with its bits");
    }

    void clear() {
        words.zero();
        usedCount = 0;
        cursorWord = 0;
    }

    /** Same bits as {@code other}. */
    boolean sameAs(StoreFreeMap other) {
        if (other.blockCount != blockCount) {
            return false;
        }
        for (long i = 0; i < wordCount; i++) {
            if (word(i) != other.word(i)) {
                return false;
            }
        }
        return true;
    }

    void release() {
        words.release();
    }
}
