package dev.scemu.core;

import dev.scemu.core.internal.MemoryBlockDevice;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Test-only power-cut model: a block device over a memory device that keeps every write since the
 * last flush in a volatile cache. {@link #cut} models the power cut: each cached block ends up
 * with its durable content (dropped) or, with a seed, with one of its cached versions chosen at
 * random (block-atomic). Writes with fua go straight to the durable medium. {@link #armCut(long)}
 * makes the k-th write from now throw {@link PowerCut} before it reaches the cache.
 */
final class UnflushedWriteTracker extends AbstractBlockDevice {

    /** Thrown by the write at which the armed power cut happens. */
    static final class PowerCut extends RuntimeException {
        private static final long serialVersionUID = 1L;

        PowerCut(long writeIndex) {
            super("power cut before write " + writeIndex);
        }
    }

    private final MemoryBlockDevice durable;
    private final Map<Long, List<byte[]>> cached = new LinkedHashMap<>();
    private long writes;
    private long cutAtWrite = -1;

    UnflushedWriteTracker(String name, BlockGeometry geometry) {
        super(name, geometry);
        this.durable = new MemoryBlockDevice(name + "-durable", geometry);
    }

    /** Writes issued since creation or the last {@link #armCut}. */
    synchronized long writes() {
        return writes;
    }

    /** Makes write number {@code writeIndex} (0-based, counted from now) throw {@link PowerCut}. */
    synchronized void armCut(long writeIndex) {
        writes = 0;
        cutAtWrite = writeIndex;
    }

    /** Power cut: drops every cached write ({@code keepSubsetSeed == null}) or keeps a seeded random subset. */
    synchronized void cut(Long keepSubsetSeed) {
        Random random = keepSubsetSeed == null ? null : new Random(keepSubsetSeed);
        for (Map.Entry<Long, List<byte[]>> entry : cached.entrySet()) {
            if (random != null) {
                int choice = random.nextInt(entry.getValue().size() + 1);
                if (choice > 0) {
                    writeDurable(entry.getKey(), entry.getValue().get(choice - 1));
                }
            }
        }
        cached.clear();
        cutAtWrite = -1;
    }

    /** Power cut keeping exactly the latest cached version of the given blocks. */
    synchronized void cutKeeping(Set<Long> lbas) {
        for (Map.Entry<Long, List<byte[]>> entry : cached.entrySet()) {
            if (lbas.contains(entry.getKey())) {
                List<byte[]> versions = entry.getValue();
                writeDurable(entry.getKey(), versions.get(versions.size() - 1));
            }
        }
        cached.clear();
        cutAtWrite = -1;
    }

    /** Blocks with cached (unflushed) writes. */
    synchronized Set<Long> cachedBlocks() {
        return Set.copyOf(cached.keySet());
    }

    @Override
    protected synchronized void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        int blockSize = blockSize();
        for (int i = 0; i < blockCount; i++) {
            List<byte[]> versions = cached.get(lba + i);
            if (versions == null) {
                durable.read(lba + i, 1, buffer, bufferOffset + i * blockSize);
            } else {
                buffer.put(bufferOffset + i * blockSize, versions.get(versions.size() - 1));
            }
        }
    }

    @Override
    protected synchronized void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        if (writes++ == cutAtWrite) {
            throw new PowerCut(writes - 1);
        }
        int blockSize = blockSize();
        for (int i = 0; i < blockCount; i++) {
            byte[] content = new byte[blockSize];
            buffer.get(bufferOffset + i * blockSize, content);
            if (fua) {
                cached.remove(lba + i);
                writeDurable(lba + i, content);
            } else {
                cached.computeIfAbsent(lba + i, k -> new ArrayList<>()).add(content);
            }
        }
    }

    @Override
    protected synchronized void doFlush() {
        for (Map.Entry<Long, List<byte[]>> entry : cached.entrySet()) {
            List<byte[]> versions = entry.getValue();
            writeDurable(entry.getKey(), versions.get(versions.size() - 1));
        }
        cached.clear();
    }

    @Override
    protected synchronized void doTrim(long lba, long blockCount) {
        for (long i = 0; i < blockCount; i++) {
            cached.computeIfAbsent(lba + i, k -> new ArrayList<>()).add(new byte[blockSize()]);
        }
    }

    @Override
    protected void doClose() {
        durable.close();
    }

    private void writeDurable(long lba, byte[] content) {
        durable.write(lba, 1, ByteBuffer.wrap(content), 0, false);
    }
}
