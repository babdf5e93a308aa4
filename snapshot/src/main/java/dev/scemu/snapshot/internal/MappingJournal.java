package dev.scemu.snapshot.internal;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * The execution log as the snapshot layer uses it: one transaction per journal record, left
 * unfinished until a mapping-table checkpoint makes it redundant.
 */
interface MappingJournal {

    /** Appends a BEGIN record of {@code opType} carrying {@code payload} (position..limit); durable after {@link #sync()}. */
    long begin(int opType, ByteBuffer payload);

    /** Writes pending records and flushes the device: everything begun or committed before is durable. */
    void sync();

    /** Marks a transaction finished (its space may be reclaimed); durable after {@link #sync()}. */
    void commit(long txId);

    /** Largest payload {@link #begin} accepts. */
    int maxPayloadBytes();

    /** Bytes of records appended so far (what fills the ring). */
    long recordBytes();

    /** Physical bytes the journal has written so far. */
    long bytesWritten();

    /** Transactions begun but never committed, oldest first, as found when the journal was opened. */
    List<JournalTx> unfinished();

    void close();

    /** One unfinished transaction. */
    record JournalTx(long id, int opType, ByteBuffer payload) {
    }

    /** Formats or opens a journal on a region of the store. */
    interface Factory {
        MappingJournal format(dev.scemu.core.BlockDevice store, dev.scemu.core.Extent region);

        MappingJournal open(dev.scemu.core.BlockDevice store, dev.scemu.core.Extent region);
    }
}
