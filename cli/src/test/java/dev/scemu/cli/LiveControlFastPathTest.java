package dev.scemu.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LiveControl#namesServedUnit}: the cheap check that lets a command on a unit nobody serves
 * skip building picocli's model twice. It must say yes whenever a served unit is named (else a live
 * command would run offline), and no for every command line naming none.
 */
class LiveControlFastPathTest {

    @TempDir
    Path dir;

    @Test
    void onlyAUnitDirectoryWithAControlSocketCounts() throws Exception {
        Path unit = Files.createDirectory(dir.resolve("unit"));
        Path other = Files.createDirectory(dir.resolve("other"));
        Files.writeString(unit.resolve("unit.properties"), "");
        assertThat(LiveControl.namesServedUnit(dir, "backup", "create", "unit", "-t", "other")).isFalse();
        assertThat(LiveControl.namesServedUnit(dir, "status", "other")).isFalse();
        assertThat(LiveControl.namesServedUnit(dir, "--help")).isFalse();
        assertThat(LiveControl.namesServedUnit(dir, "status", "bad\0path")).isFalse();

        Path socket = ControlSocket.path(unit.toRealPath());
        Files.createDirectories(socket.getParent());
        Files.writeString(socket, ""); // stands for the socket of a serving process
        try {
            assertThat(LiveControl.namesServedUnit(dir, "backup", "create", "unit", "-t", "other")).isTrue();
            assertThat(LiveControl.namesServedUnit(Path.of("/"), "status", unit.toString())).isTrue();
            assertThat(LiveControl.namesServedUnit(dir, "status", "other")).isFalse();
        } finally {
            Files.deleteIfExists(socket);
        }
    }
}
