package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class UndoVersionsTest {

    private static final int BLOCK = 4096;

    private static ByteBuffer block(int value) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK);
        for (int i = 0; i < BLOCK; i++) {
            buffer.put(i, (byte) (value + i));
        }
        return buffer;
    }

    private static byte[] bytesOf(UndoVersions versions, int slot) {
        byte[] bytes = new byte[BLOCK];
        versions.chunkOf(slot).get(versions.offsetOf(slot), bytes);
        return bytes;
    }

    private static byte[] bytesOf(ByteBuffer buffer) {
        byte[] bytes = new byte[BLOCK];
        buffer.get(0, bytes);
        return bytes;
    }

    @Test
    void savedVersionsReadBackAcrossChunksAndReleasedSlotsAreReusedFirst() {
        try (UndoVersions versions = new UndoVersions(BLOCK)) {
            int perChunk = UndoVersions.CHUNK_BYTES / BLOCK;
            int[] slots = new int[perChunk + 3];
            for (int i = 0; i < slots.length; i++) {
                slots[i] = versions.save(NativeMemory.address(block(i)));
            }
            assertThat(versions.allocatedBytes()).isEqualTo(2L * UndoVersions.CHUNK_BYTES);
            for (int i = 0; i < slots.length; i++) {
                assertThat(bytesOf(versions, slots[i])).as("slot %d", i).isEqualTo(bytesOf(block(i)));
            }
            versions.release(slots[5]);
            int again = versions.save(NativeMemory.address(block(99)));
            assertThat(again).isEqualTo(slots[5]);
            assertThat(bytesOf(versions, again)).isEqualTo(bytesOf(block(99)));
            assertThat(bytesOf(versions, slots[6])).as("a neighbour is untouched").isEqualTo(bytesOf(block(6)));

            versions.flipBit(slots[6], 9);
            byte[] flipped = bytesOf(block(6));
            flipped[1] ^= 2;
            assertThat(bytesOf(versions, slots[6])).isEqualTo(flipped);

            versions.releaseAll();
            assertThat(versions.save(NativeMemory.address(block(7)))).as("numbering starts again").isZero();
            assertThat(versions.allocatedBytes()).as("chunks are kept for the next fill").isEqualTo(2L * UndoVersions.CHUNK_BYTES);
            versions.close();
            assertThat(versions.allocatedBytes()).isZero();
        }
    }

    /** The device's undo log restores what its versions hold: a torn cut picks any version written since the flush. */
    @Test
    void aPowerCutRestoresEachBlockFromItsSavedVersions() {
        FaultInjectingDevice device = new FaultInjectingDevice(Media.memory("d", new BlockGeometry(BLOCK, 64)), 5);
        try (device) {
            device.write(3, 1, block(1), 0);
            device.flush();
            for (int v = 2; v <= 4; v++) {
                device.write(3, 1, block(v), 0); // versions 2, 3 unflushed and saved; 4 in the device
            }
            device.write(9, 1, block(7), 0);
            device.cutPower(PowerCutMode.DROP_UNFLUSHED);
            device.restorePower();
            ByteBuffer read = ByteBuffer.allocateDirect(BLOCK);
            device.read(3, 1, read, 0);
            assertThat(bytesOf(read)).isEqualTo(bytesOf(block(1)));
            device.read(9, 1, read, 0);
            assertThat(bytesOf(read)).containsOnly(0);
            assertThat(device.unflushedBlockCount()).isZero();
        }
    }
}
