package dev.scemu.backup;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.Allocation;
import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A sparse off-heap device that answers {@link BlockDevice#mapAllocation} like a thin volume: the
 * blocks written since creation (and not trimmed since) are {@link Allocation#DATA}, the rest
 * {@link Allocation#HOLE}. It counts the bytes read, written and trimmed, so a test can prove a
 * backup never read a hole and a restore wrote only what the image holds. Thread-safe.
 */
final class HoleReportingDevice extends AbstractBlockDevice {

    private final BlockDevice memory;
    /** Written blocks: start lba -> end lba, disjoint, coalesced. Guarded by {@code this}. */
    private final TreeMap<Long, Long> written = new TreeMap<>();
    final AtomicLong bytesRead = new AtomicLong();
    final AtomicLong bytesWritten = new AtomicLong();
    final AtomicLong blocksTrimmed = new AtomicLong();

    HoleReportingDevice(String name, BlockGeometry geometry) {
        super(name, geometry);
        this.memory = Media.memory(name + "-memory", geometry);
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        bytesRead.addAndGet((long) blockCount * blockSize());
        memory.read(lba, blockCount, buffer, bufferOffset);
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        bytesWritten.addAndGet((long) blockCount * blockSize());
        memory.write(lba, blockCount, buffer, bufferOffset, fua);
        synchronized (this) {
            long start = lba;
            long end = lba + blockCount;
            Map.Entry<Long, Long> before = written.floorEntry(start);
            if (before != null && before.getValue() >= start) {
                start = before.getKey();
                end = Math.max(end, before.getValue());
            }
            for (Map.Entry<Long, Long> e = written.ceilingEntry(start); e != null && e.getKey() <= end;
                 e = written.ceilingEntry(start)) {
                end = Math.max(end, e.getValue());
                written.remove(e.getKey());
            }
            written.put(start, end);
        }
    }

    @Override
    protected void doFlush() {
        memory.flush();
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        blocksTrimmed.addAndGet(blockCount);
        memory.trim(lba, blockCount);
        synchronized (this) {
            long end = lba + blockCount;
            Map.Entry<Long, Long> before = written.floorEntry(lba);
            if (before != null && before.getValue() > lba) {
                written.put(before.getKey(), lba);
                if (before.getValue() > end) {
                    written.put(end, before.getValue());
                }
            }
            for (Map.Entry<Long, Long> e = written.ceilingEntry(lba); e != null && e.getKey() < end;
                 e = written.ceilingEntry(lba)) {
                written.remove(e.getKey());
                if (e.getValue() > end) {
                    written.put(end, e.getValue());
                }
            }
            written.entrySet().removeIf(e -> e.getValue() <= e.getKey());
        }
    }

    @Override
    public synchronized void mapAllocation(long lba, long blockCount, AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        long end = lba + blockCount;
        long cursor = lba;
        Map.Entry<Long, Long> first = written.floorEntry(lba);
        Long from = first != null && first.getValue() > lba ? first.getKey() : written.ceilingKey(lba);
        if (from != null) {
            for (Map.Entry<Long, Long> e : written.tailMap(from, true).entrySet()) {
                if (e.getKey() >= end) {
                    break;
                }
                long s = Math.max(e.getKey(), lba);
                long t = Math.min(e.getValue(), end);
                if (s > cursor && !sink.extent(cursor, s - cursor, Allocation.HOLE)) {
                    return;
                }
                if (!sink.extent(s, t - s, Allocation.DATA)) {
                    return;
                }
                cursor = t;
            }
        }
        if (cursor < end) {
            sink.extent(cursor, end - cursor, Allocation.HOLE);
        }
    }

    @Override
    protected void doClose() {
        memory.close();
    }
}
