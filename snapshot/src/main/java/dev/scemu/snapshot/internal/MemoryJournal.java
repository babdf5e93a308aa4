package dev.scemu.snapshot.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stand-in journal kept in memory per store device (synced records survive reopen of the same
 * device object, not a power cut). Used until controller-core's ExecutionLog is available.
 */
final class MemoryJournal implements MappingJournal {

    static final Factory FACTORY = new Factory() {
        @Override
        public MappingJournal format(BlockDevice store, Extent region) {
            synchronized (DURABLE) {
                DURABLE.put(store, new LinkedHashMap<>());
            }
            return new MemoryJournal(store, region);
        }

        @Override
        public MappingJournal open(BlockDevice store, Extent region) {
            return new MemoryJournal(store, region);
        }
    };

    private static final Map<BlockDevice, Map<Long, JournalTx>> DURABLE = Collections.synchronizedMap(new IdentityHashMap<>());

    private final BlockDevice store;
    private final int blockSize;
    private final List<JournalTx> unfinished;
    private final Map<Long, JournalTx> pendingBegin = new LinkedHashMap<>();
    private final List<Long> pendingCommit = new ArrayList<>();
    private long nextId;
    private long bytesWritten;

    private MemoryJournal(BlockDevice store, Extent region) {
        this.store = store;
        this.blockSize = store.blockSize();
        Map<Long, JournalTx> durable = DURABLE.computeIfAbsent(store, k -> new LinkedHashMap<>());
        synchronized (durable) {
            this.unfinished = List.copyOf(durable.values());
            for (Long id : durable.keySet()) {
                nextId = Math.max(nextId, id + 1);
            }
        }
    }

    @Override
    public long begin(int opType, ByteBuffer payload) {
        ByteBuffer copy = ByteBuffer.allocate(payload.remaining());
        copy.put(payload.duplicate()).flip();
        long id = nextId++;
        pendingBegin.put(id, new JournalTx(id, opType, copy));
        return id;
    }

    @Override
    public void sync() {
        Map<Long, JournalTx> durable = DURABLE.get(store);
        synchronized (durable) {
            durable.putAll(pendingBegin);
            pendingCommit.forEach(durable::remove);
        }
        pendingBegin.clear();
        pendingCommit.clear();
        bytesWritten += blockSize;
        store.flush();
    }

    @Override
    public void commit(long txId) {
        pendingCommit.add(txId);
    }

    @Override
    public int maxPayloadBytes() {
        return blockSize - 64;
    }

    @Override
    public long bytesWritten() {
        return bytesWritten;
    }

    @Override
    public List<JournalTx> unfinished() {
        return unfinished;
    }

    @Override
    public void close() {
        // nothing held
    }
}
