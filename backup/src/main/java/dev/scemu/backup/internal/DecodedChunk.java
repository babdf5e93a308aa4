package dev.scemu.backup.internal;

import java.nio.ByteBuffer;

/** A chunk checked and decoded: its plain block data at offset 0 of {@code plain}, in extent order. */
record DecodedChunk(ChunkSlot slot, ChunkHeader header, ByteBuffer plain) {
}
