package dev.scemu.backup.internal;

import dev.scemu.core.Extent;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A chunk ready to append: its header record, the stored bytes (a region of one of the slot's
 * buffers), SHA-256 and extents. {@code headerRecord == null} means the window held only zeros.
 */
record EncodedChunk(ChunkSlot slot, long sequence, byte[] headerRecord, ByteBuffer stored, int storedLength,
                    byte[] sha256, List<Extent> extents, int plainLength, long scannedBytes) {

    boolean isEmpty() {
        return headerRecord == null;
    }

    int recordLength() {
        return headerRecord.length + storedLength;
    }
}
