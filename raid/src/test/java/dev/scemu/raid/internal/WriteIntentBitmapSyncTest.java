package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The resync side of the bitmap (md_bitmap_start_sync, md_bitmap_cond_end_sync,
 * md_bitmap_close_sync): a range needs a resync if any bit over it does; ending the sync below a
 * sector releases exactly the bits whose whole region lies below it, the last (short) bit once the
 * sector reaches the end of the synced size; closing releases all.
 */
class WriteIntentBitmapSyncTest {

    private static final int CHUNK_SECTORS = 128;

    private static WriteIntentBitmap bitmap(long bits, long shortBy) {
        long syncSize = bits * CHUNK_SECTORS - shortBy;
        return new WriteIntentBitmap(UUID.randomUUID(), syncSize, CHUNK_SECTORS * 512,
                MdBitmapLayout.reservedBytes(bits), (offset, bytes, fua) -> null, () -> 1, () -> false);
    }

    @Test
    void endSyncBelowReleasesWholeRegionsOnlyAndCloseReleasesAll() {
        WriteIntentBitmap b = bitmap(130, 5);
        b.markAllNeedSync();
        assertThat(b.needsSyncCount()).isEqualTo(130);
        b.endSyncBelow(70L * CHUNK_SECTORS + 7); // inside bit 70: bits 0..69 done
        assertThat(b.needsSyncCount()).isEqualTo(60);
        assertThat(b.needsSync(0, 70L * CHUNK_SECTORS)).isFalse();
        assertThat(b.needsSync(69L * CHUNK_SECTORS, 70L * CHUNK_SECTORS + 1))
                .as("a range reaching into bit 70").isTrue();
        b.endSyncBelow(129L * CHUNK_SECTORS); // up to the short last bit, not into it
        assertThat(b.needsSyncCount()).isEqualTo(1);
        b.endSyncBelow(130L * CHUNK_SECTORS - 5); // the end of the synced size: the short bit too
        assertThat(b.needsSyncCount()).isZero();
        b.markAllNeedSync();
        b.closeSync();
        assertThat(b.needsSyncCount()).isZero();
        assertThat(b.dirtyCount()).as("bits stay set until flushes clear them").isEqualTo(130);
    }

    @Test
    void aRangeOverSeveralBitsNeedsSyncIfAnyOfThemDoes() {
        WriteIntentBitmap b = bitmap(64, 0);
        b.startWrite(13L * CHUNK_SECTORS, 13L * CHUNK_SECTORS + 8);
        b.markSetBitsNeedSync(); // as after a crash: bit 13 set on disk
        assertThat(b.needsSync(8L * CHUNK_SECTORS, 16L * CHUNK_SECTORS)).as("unit of bits 8..15").isTrue();
        assertThat(b.needsSync(0, 8L * CHUNK_SECTORS)).isFalse();
        assertThat(b.needsSync(16L * CHUNK_SECTORS, 24L * CHUNK_SECTORS)).isFalse();
    }
}
