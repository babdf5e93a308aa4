package dev.scemu.snapshot.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.ExecutionLog;
import dev.scemu.core.Extent;
import dev.scemu.core.Transaction;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** The snapshot layer's journal on controller-core's {@link ExecutionLog}. */
final class ExecutionLogJournal implements MappingJournal {

    static final Factory FACTORY = new Factory() {
        @Override
        public MappingJournal format(BlockDevice store, Extent region) {
            return new ExecutionLogJournal(ExecutionLog.format(store, region));
        }

        @Override
        public MappingJournal open(BlockDevice store, Extent region) {
            return new ExecutionLogJournal(ExecutionLog.open(store, region));
        }
    };

    private final ExecutionLog log;

    private ExecutionLogJournal(ExecutionLog log) {
        this.log = log;
    }

    @Override
    public long begin(int opType, ByteBuffer payload) {
        return log.begin(opType, payload);
    }

    @Override
    public void sync() {
        log.sync();
    }

    @Override
    public void commit(long txId) {
        log.commit(txId);
    }

    @Override
    public int maxPayloadBytes() {
        return log.maxPayloadBytes();
    }

    @Override
    public long recordBytes() {
        return log.stats().recordBytes();
    }

    /** Data blocks of the ring. */
    int ringBlocks() {
        return log.dataBlockCount();
    }

    @Override
    public long bytesWritten() {
        return log.stats().bytesWritten();
    }

    @Override
    public List<JournalTx> unfinished() {
        List<JournalTx> result = new ArrayList<>();
        for (Transaction tx : log.unfinished()) {
            result.add(new JournalTx(tx.txId(), tx.opType(), tx.beginPayload().duplicate().order(ByteOrder.LITTLE_ENDIAN)));
        }
        return result;
    }

    @Override
    public void close() {
        log.close();
    }
}
