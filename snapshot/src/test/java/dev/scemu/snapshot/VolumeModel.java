package dev.scemu.snapshot;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reference model: the live volume as a byte array and a full copy per snapshot. */
final class VolumeModel {
    final int blockSize;
    final int blockCount;
    byte[] live;
    final Map<Long, byte[]> snapshots = new LinkedHashMap<>();

    VolumeModel(int blockSize, int blockCount) {
        this.blockSize = blockSize;
        this.blockCount = blockCount;
        this.live = new byte[blockSize * blockCount];
    }

    void write(long lba, byte[] bytes) {
        System.arraycopy(bytes, 0, live, (int) lba * blockSize, bytes.length);
    }

    void trim(long lba, int blocks) {
        Arrays.fill(live, (int) lba * blockSize, (int) (lba + blocks) * blockSize, (byte) 0);
    }

    void snapshot(long id) {
        snapshots.put(id, live.clone());
    }

    void delete(long id) {
        snapshots.remove(id);
    }

    void rollback(long id) {
        live = snapshots.get(id).clone();
    }

    void restoreRange(long id, long lba, int blocks) {
        int from = (int) lba * blockSize;
        System.arraycopy(snapshots.get(id), from, live, from, blocks * blockSize);
    }
}
