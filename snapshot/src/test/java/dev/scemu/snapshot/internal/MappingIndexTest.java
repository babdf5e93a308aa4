package dev.scemu.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.snapshot.SnapshotException;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MappingIndexTest {

    @Test
    void findsTheEntryWhoseEpochRangeHoldsTheSnapshot() {
        MappingIndex index = new MappingIndex(100);
        try {
            index.insertNewest(7, 0, 3, 10);
            index.insertNewest(7, 4, 4, MappingIndex.ZERO_BLOCK);
            index.insertNewest(7, 6, 9, 11);
            assertThat(index.birthEpoch(7)).isEqualTo(10);
            assertThat(index.birthEpoch(8)).isZero();
            assertThat(index.storeBlock(index.find(7, 0))).isEqualTo(10);
            assertThat(index.storeBlock(index.find(7, 3))).isEqualTo(10);
            assertThat(index.storeBlock(index.find(7, 4))).isEqualTo(MappingIndex.ZERO_BLOCK);
            assertThat(index.find(7, 5)).isEqualTo(MappingIndex.NONE);
            assertThat(index.storeBlock(index.find(7, 9))).isEqualTo(11);
            assertThat(index.find(7, 10)).isEqualTo(MappingIndex.NONE);
            assertThatThrownBy(() -> index.insertNewest(7, 9, 12, 1)).isInstanceOf(SnapshotException.class);
            assertThatThrownBy(() -> index.insertSorted(7, 2, 5, 1)).isInstanceOf(SnapshotException.class);
        } finally {
            index.release();
        }
    }

    /** Millions of entries live off-heap: lookups stay exact and the Java heap does not grow with them. */
    @Test
    void holdsMillionsOfEntriesOffHeap() {
        int entries = 3_000_000;
        System.gc();
        Runtime runtime = Runtime.getRuntime();
        long heapBefore = runtime.totalMemory() - runtime.freeMemory();
        MappingIndex index = new MappingIndex(entries);
        try {
            Random random = new Random(9);
            long lbaSpace = 1L << 40;
            long seed = random.nextLong();
            Random lbas = new Random(seed);
            for (int i = 0; i < entries / 2; i++) {
                long lba = lbas.nextLong() & (lbaSpace - 1);
                if (index.newest(lba) != MappingIndex.NONE) {
                    continue;
                }
                index.insertNewest(lba, 0, 4, i);
                index.insertNewest(lba, 5, 9, MappingIndex.ZERO_BLOCK);
            }
            long heapAfter = runtime.totalMemory() - runtime.freeMemory();
            assertThat(index.entryCount()).isGreaterThan(entries - 1000);
            Random again = new Random(seed);
            for (int i = 0; i < entries / 2; i++) {
                long lba = again.nextLong() & (lbaSpace - 1);
                assertThat(index.find(lba, 2)).isNotEqualTo(MappingIndex.NONE);
                assertThat(index.storeBlock(index.find(lba, 7))).isEqualTo(MappingIndex.ZERO_BLOCK);
                assertThat(index.birthEpoch(lba)).isEqualTo(10);
            }
            System.out.printf("mapping index: %d entries, %d MiB off-heap, heap grew %d MiB while filling%n",
                    index.entryCount(), index.offHeapBytes() >> 20, (heapAfter - heapBefore) >> 20);
            assertThat(heapAfter - heapBefore).as("heap growth while inserting").isLessThan(64L << 20);
            // drop the older half: chains and hash slots shrink consistently
            long removed = index.removeIf(e -> index.toEpoch(e) == 4, e -> { });
            assertThat(removed).isEqualTo(index.entryCount());
            long[] count = {0};
            index.forEachLba(l -> count[0]++);
            assertThat(count[0]).isEqualTo(index.entryCount());
            long removedAll = index.removeIf(e -> true, e -> { });
            assertThat(index.entryCount()).isZero();
            assertThat(removedAll).isEqualTo(removed);
            index.forEachLba(l -> count[0]--);
            assertThat(count[0]).isEqualTo(removed);
        } finally {
            index.release();
        }
    }

    @Test
    void backwardShiftDeletionKeepsProbeChainsIntact() {
        MappingIndex index = new MappingIndex(64);
        try {
            Random random = new Random(4);
            java.util.Set<Long> present = new java.util.HashSet<>();
            for (int round = 0; round < 2000; round++) {
                long lba = random.nextInt(200);
                if (present.contains(lba)) {
                    index.removeIf(e -> index.lba(e) == lba, e -> { });
                    present.remove(lba);
                } else if (present.size() < 60) {
                    index.insertNewest(lba, 0, 0, lba);
                    present.add(lba);
                }
                for (long l = 0; l < 200; l++) {
                    assertThat(index.newest(l) != MappingIndex.NONE).as("lba %d round %d", l, round).isEqualTo(present.contains(l));
                }
            }
        } finally {
            index.release();
        }
    }
}
