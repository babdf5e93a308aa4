package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two owners never have the same standalone member images (outside a unit) open for writing:
 * {@code md serve} locks each image ({@code ImageLock}, an OFD lock as QEMU takes them), so a
 * second {@code md serve} of them is refused with {@code IN_USE} (17) before it opens anything,
 * QEMU's tools refuse them too, {@code md examine} still reads them (as {@code mdadm --examine}
 * reads the members of a running array), and a {@code kill -9} of the owner frees them. Before,
 * two {@code md serve} processes assembled the same members and each wrote superblocks, bitmap and
 * data the other did not know of.
 */
class MdServeImageLockTest {

    @TempDir
    Path tmp;

    @AfterEach
    void clearHook() {
        MdCommand.testHook = null;
    }

    @Test
    void aSecondServeAndQemuAreRefusedWhileMdServeHasTheImagesAndAKillFreesThem() throws Exception {
        List<Object> images = standaloneImages();
        Path socket = tmp.resolve("md.sock");
        List<Object> first = new ArrayList<>(List.of("md", "serve", "--socket", socket));
        first.addAll(images);
        Process owner = CliTestSupport.startScemu(tmp.resolve("first.log"), "serving", first.toArray());
        Map<String, String> before;
        try {
            before = CliTestSupport.imageHashes(tmp.resolve("images"));
            MdCommand.testHook = server -> fail("a second md serve of images another one holds started serving");
            List<Object> second = new ArrayList<>(List.of("md", "serve", "--port", "0"));
            second.addAll(images);
            CliTestSupport.Result refused = scemu(second.toArray()).failsWithOneLine("IN_USE");
            assertThat(refused.status()).isEqualTo(17);
            assertThat(refused.errorLines()).contains("m0.img is in use");
            List<Object> reader = new ArrayList<>(List.of("md", "serve", "--read-only", "--port", "0"));
            reader.addAll(images);
            scemu(reader.toArray()).failsWithOneLine("IN_USE");
            List<Object> examine = new ArrayList<>(List.of("md", "examine"));
            examine.addAll(images);
            assertThat(scemu(examine.toArray()).ok().out()).contains("set: assembles as raid5 of 4 members");
            if (CliTestSupport.installed("qemu-io")) {
                CliTestSupport.ProcessResult qemu = CliTestSupport.run(List.of("qemu-io", "-f", "raw",
                        images.get(1).toString(), "-c", "read 0 4k"));
                assertThat(qemu.exitCode()).as(qemu.output()).isNotZero();
                assertThat(qemu.output()).contains("lock");
            } else {
                assumeTrue(!"true".equals(System.getenv("CI")), "qemu-io is not installed (CI=true requires it)");
            }
            assertThat(CliTestSupport.imageHashes(tmp.resolve("images"))).as("the refused commands wrote nothing")
                    .isEqualTo(before);
        } finally {
            CliTestSupport.kill9(owner);
        }

        MdCommand.testHook = server -> { }; // serves, then stops at once
        List<Object> again = new ArrayList<>(List.of("md", "serve", "--port", "0"));
        again.addAll(images);
        scemu(again.toArray()).ok();
    }

    /** Two read-only serves share the images; a writer is refused while they have them. */
    @Test
    void readOnlyServesShareTheImagesAndKeepAWriterOut() throws Exception {
        List<Object> images = standaloneImages();
        List<Object> first = new ArrayList<>(List.of("md", "serve", "--read-only", "--socket", tmp.resolve("ro.sock")));
        first.addAll(images);
        Process reader = CliTestSupport.startScemu(tmp.resolve("reader.log"), "serving", first.toArray());
        try {
            MdCommand.testHook = server -> { };
            List<Object> second = new ArrayList<>(List.of("md", "serve", "--read-only", "--port", "0"));
            second.addAll(images);
            scemu(second.toArray()).ok();
            List<Object> writer = new ArrayList<>(List.of("md", "serve", "--port", "0"));
            writer.addAll(images);
            scemu(writer.toArray()).failsWithOneLine("IN_USE");
        } finally {
            CliTestSupport.kill9(reader);
        }
    }

    /** A small unit's member images copied out of it: an md set that belongs to no unit. */
    private List<Object> standaloneImages() throws Exception {
        Path unit = tmp.resolve("unit");
        CliTestSupport.createSmallUnit(unit);
        Path dir = Files.createDirectory(tmp.resolve("images"));
        List<Object> images = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            images.add(Files.copy(unit.resolve("disk" + i + ".img"), dir.resolve("m" + i + ".img")));
        }
        return images;
    }
}
