package dev.scemu.snapshot.internal;

import dev.scemu.core.NativeMemory;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.core.UnsafeMemory;

/** A fixed-size block of native memory with long/int accessors; zeroed on allocation; freed by {@link #release()}. */
final class OffHeapRegion {

    private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;

    private final BytesStore<?, ?> store;
    private final long address;
    private final long sizeBytes;

    OffHeapRegion(long sizeBytes) {
        this.sizeBytes = Math.max(8, sizeBytes);
        this.store = BytesStore.nativeStoreWithFixedCapacity(this.sizeBytes);
        this.address = store.addressForWrite(0);
        NativeMemory.zero(address, this.sizeBytes);
    }

    long sizeBytes() {
        return sizeBytes;
    }

    long readLong(long offset) {
        return MEMORY.readLong(address + offset);
    }

    void writeLong(long offset, long value) {
        MEMORY.writeLong(address + offset, value);
    }

    int readInt(long offset) {
        return MEMORY.readInt(address + offset);
    }

    void writeInt(long offset, int value) {
        MEMORY.writeInt(address + offset, value);
    }

    void zero() {
        NativeMemory.zero(address, sizeBytes);
    }

    void release() {
        store.releaseLast();
    }
}
