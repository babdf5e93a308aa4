package dev.scemu.flash.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.ExecutionLog;
import dev.scemu.core.Extent;
import dev.scemu.core.Transaction;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.UpdateJournal;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * {@link UpdateJournal} over controller-core's {@link ExecutionLog} (shared with other subsystems:
 * the firmware manager only looks at its own operation type). Log errors other than a power loss
 * become {@link FlashError#JOURNAL_ERROR}.
 */
public final class ExecutionLogJournal implements UpdateJournal {

    private final ExecutionLog log;

    public ExecutionLogJournal(ExecutionLog log) {
        this.log = log;
    }

    public ExecutionLog log() {
        return log;
    }

    @Override
    public long begin(int opType, ByteBuffer payload) {
        return call(() -> log.begin(opType, payload));
    }

    @Override
    public void step(long txId, int stepIndex, ByteBuffer payload) {
        call(() -> {
            log.step(txId, stepIndex, payload);
            return null;
        });
    }

    @Override
    public void commit(long txId) {
        call(() -> {
            log.commit(txId);
            return null;
        });
    }

    @Override
    public void abort(long txId) {
        call(() -> {
            log.abort(txId);
            return null;
        });
    }

    @Override
    public void sync() {
        call(() -> {
            log.sync();
            return null;
        });
    }

    @Override
    public List<Entry> unfinished() {
        List<Entry> entries = new ArrayList<>();
        for (Transaction tx : log.unfinished()) {
            List<Step> steps = new ArrayList<>();
            for (Transaction.Step step : tx.steps()) {
                steps.add(new Step(step.stepIndex(), step.payload()));
            }
            entries.add(new Entry(tx.txId(), tx.opType(), tx.beginPayload(), steps));
        }
        return entries;
    }

    private static <T> T call(Supplier<T> action) {
        try {
            return action.get();
        } catch (CoreException e) {
            if (e.code() == CoreError.POWER_LOST || e.code() == CoreError.CLOSED || e.code() == CoreError.IO_ERROR
                    || e.code() == CoreError.DEVICE_FAILED || e.code() == CoreError.MEDIUM_ERROR) {
                throw e;
            }
            throw new FlashException(FlashError.JOURNAL_ERROR, "update journal: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "ExecutionLogJournal[" + log + "]";
    }

    /** See {@link UpdateJournal#openOrFormat}. */
    public static UpdateJournal openOrFormat(BlockDevice device, Extent extent) {
        try {
            return new ExecutionLogJournal(ExecutionLog.open(device, extent));
        } catch (CoreException e) {
            if (e.code() == CoreError.INVALID_ARGUMENT || e.code() == CoreError.LOG_CORRUPTED) {
                // a valid header describing another geometry than this extent: not our journal;
                // or a damaged block with durable blocks after it (not a torn tail)
                throw new FlashException(FlashError.JOURNAL_ERROR, "update journal on " + device.name() + extent
                        + " is damaged: " + e.getMessage(), e);
            }
            if (e.code() != CoreError.CORRUPT_RECORD) {
                throw e;
            }
            ByteBuffer headers = ByteBuffer.allocate(ExecutionLog.HEADER_SLOTS * device.blockSize());
            device.read(extent.lba(), ExecutionLog.HEADER_SLOTS, headers, 0);
            for (int i = 0; i < headers.capacity(); i++) {
                if (headers.get(i) != 0) {
                    throw new FlashException(FlashError.JOURNAL_ERROR, "update journal on " + device.name() + extent
                            + " is damaged: " + e.getMessage(), e);
                }
            }
            return new ExecutionLogJournal(ExecutionLog.format(device, extent));
        }
    }
}
