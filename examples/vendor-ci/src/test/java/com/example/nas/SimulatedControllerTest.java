package com.example.nas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scemu.core.PowerCutMode;
import dev.scemu.raid.RaidLevel;
import dev.scemu.raid.RebuildListener;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.testkit.SimulatedController;
import dev.scemu.unit.StorageControlUnit;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A ready control unit per test from {@code @SimulatedController}; the unit is closed after the test. */
class SimulatedControllerTest {

    private static final int BLOCK = 4096;

    @Test
    @SimulatedController(level = RaidLevel.RAID5, disks = 4, diskMib = 16, seed = 42)
    void flushedDataSurvivesADiskFailureTheRebuildAndAPowerCut(StorageControlUnit unit) throws Exception {
        ByteBuffer written = ByteBuffer.allocateDirect(8 * BLOCK);
        byte[] pattern = new byte[8 * BLOCK];
        new Random(7).nextBytes(pattern);
        written.put(0, pattern);
        unit.host().write(100, 8, written, 0);
        unit.host().flush();

        unit.disk(1).failDevice();           // the drive dies ...
        unit.array().failMember(1);          // ... and the array takes it out (mdadm --fail)
        assertTrue(unit.array().isDegraded());
        assertArrayEquals(pattern, read(unit, 100, 8), "degraded read");

        RebuildProgress done = unit.replaceDisk(1, new RebuildListener() { }).get(60, TimeUnit.SECONDS);
        assertEquals(done.totalBytes(), done.doneBytes(), "the rebuild covered the whole member");
        assertTrue(!unit.array().isDegraded(), "rebuilt");
        assertEquals(0, unit.array().scrub(false).mismatchedStripes(), "parity consistent after the rebuild");

        unit.crashAndReboot(PowerCutMode.DROP_UNFLUSHED);
        assertArrayEquals(pattern, read(unit, 100, 8), "after the rebuild and a power cut");
    }

    private static byte[] read(StorageControlUnit unit, long lba, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * BLOCK);
        unit.host().read(lba, blocks, buffer, 0);
        byte[] bytes = new byte[blocks * BLOCK];
        buffer.get(0, bytes);
        return bytes;
    }
}
