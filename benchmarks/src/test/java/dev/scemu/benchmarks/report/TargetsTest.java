package dev.scemu.benchmarks.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TargetsTest {

    @Test
    void theRepositorysTargetsFileHasEveryTargetTheRendererChecks() throws Exception {
        Targets targets = Targets.load(Path.of("..", "bench", "targets.properties"));
        for (String key : new String[] {"wa.rewriteIdentical.max", "wa.firstWriteAfter16Snapshots.max",
                "firmware.switchPauseP99Millis.max", "nbd.randwrite4kQd16.vsNbdkitMemory.min",
                "nbd.randread4kQd16.vsNbdkitMemory.min", "nbd.randwrite4kQd16.vsQemuNbdQcow2Snapshot.min",
                "raid5.randwrite4k.threads4VsThreads1.min", "rebuild.hostWriteP99VsBaseline.max",
                "scale.spreadVsConfined.min", "scale.nbd.spreadVsConfined.min"}) {
            assertThat(targets.value(key)).as(key).isPositive();
        }
        assertThat(targets.text("wa.rewriteIdentical.max")).isEqualTo("0.01");
        assertThat(targets.text("firmware.switchPauseP99Millis.max")).isEqualTo("10");
    }

    @Test
    void aMissingOrMalformedTargetNamesTheKeyAndTheFile(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("targets.properties"), "a.max=0.5\nb.min=fast\n");
        Targets targets = Targets.load(file);
        assertThat(targets.value("a.max")).isEqualTo(0.5);
        assertThatThrownBy(() -> targets.value("c.max")).hasMessageContaining("c.max").hasMessageContaining(file.toString());
        assertThatThrownBy(() -> targets.value("b.min")).hasMessageContaining("not a number");
        assertThatThrownBy(() -> Targets.load(tmp.resolve("none"))).hasMessageContaining("not found");
    }
}
