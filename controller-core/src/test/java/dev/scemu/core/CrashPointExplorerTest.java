package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class CrashPointExplorerTest {

    /** Two disks in one power domain; the workload writes numbered blocks and flushes every 4th. */
    private static final class World implements AutoCloseable {
        final FaultInjectingDevice a;
        final FaultInjectingDevice b;
        long lastFlushedRound = -1;

        World(PowerDomain domain) {
            BlockGeometry geometry = new BlockGeometry(4096, 64);
            a = domain.attach(Media.memory("a", geometry));
            b = domain.attach(Media.memory("b", geometry));
        }

        void run() {
            ByteBuffer block = ByteBuffer.allocateDirect(4096);
            for (int round = 0; round < 32; round++) {
                block.putLong(0, round + 1);
                a.write(round, 1, block, 0);
                b.write(round, 1, block, 0);
                if (round % 4 == 3) {
                    a.flush();
                    b.flush();
                    lastFlushedRound = round;
                }
            }
        }

        @Override
        public void close() {
            a.close();
            b.close();
        }
    }

    private static long valueAt(BlockDevice device, long lba) {
        ByteBuffer block = ByteBuffer.allocateDirect(4096);
        device.read(lba, 1, block, 0);
        return block.getLong(0);
    }

    @Test
    void exploresEveryWriteAndEveryFlushedBlockSurvives() throws Exception {
        CrashPointExplorer.Report report = new CrashPointExplorer<>(World::new, World::run, (world, crash) -> {
            for (int round = 0; round <= world.lastFlushedRound; round++) {
                assertThat(valueAt(world.a, round)).as("a[%d] at %s", round, crash).isEqualTo(round + 1);
                assertThat(valueAt(world.b, round)).as("b[%d] at %s", round, crash).isEqualTo(round + 1);
            }
        }).seed(3).explore();
        assertThat(report.totalWrites()).isEqualTo(64);
        assertThat(report.pointsExplored()).isEqualTo(64);
        assertThat(report.runs()).isEqualTo(128);
    }

    @Test
    void samplesWhenThereAreTooManyWrites() throws Exception {
        CrashPointExplorer.Report report = new CrashPointExplorer<>(World::new, World::run, (world, crash) -> { })
                .maxPoints(10).modes(PowerCutMode.DROP_UNFLUSHED).explore();
        assertThat(report.pointsExplored()).isEqualTo(10);
        assertThat(report.runs()).isEqualTo(10);
    }

    @Test
    void aBrokenInvariantNamesTheCrashPoint() {
        // wrong on purpose: claims even unflushed writes survive
        assertThatThrownBy(() -> new CrashPointExplorer<>(World::new, World::run, (world, crash) -> {
            long writesBeforeCut = crash.writeIndex();
            long completedRounds = writesBeforeCut / 2;
            for (int round = 0; round < completedRounds; round++) {
                assertThat(valueAt(world.a, round)).isEqualTo(round + 1);
            }
        }).modes(PowerCutMode.DROP_UNFLUSHED).explore())
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("recovery check failed at crash point write#");
    }
}
