package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.imageHashes;
import static dev.scemu.cli.CliTestSupport.kill9;
import static dev.scemu.cli.CliTestSupport.scemu;
import static dev.scemu.cli.CliTestSupport.startScemu;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code scemu status} changes no byte of any member image or the NVRAM, whatever state the unit is in. */
class CliStatusReadOnlyTest {

    @Test
    void statusOfACleanUnitLeavesEveryImageByteIdentical(@TempDir Path tmp) {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        scemu("snapshot", "create", dir, "s1").ok();
        Map<String, String> before = imageHashes(dir);
        assertThat(before).containsKeys("disk0.img", "disk3.img", "nvram.img");
        assertThat(scemu("status", dir).ok().out()).contains("optimal").contains("boot       clean");
        assertThat(imageHashes(dir)).isEqualTo(before);
    }

    @Test
    void statusOfAUnitLeftDirtyByKill9WritesNothingAndTheNextOpenStillRepairs(@TempDir Path tmp) {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        Process server = startScemu(tmp.resolve("serve.log"), "serving", "serve", dir, "--port", "0");
        // a change through the serving process (its control socket): the array leaves read-auto and goes active
        assertThat(scemu("snapshot", "create", dir, "live").ok().out()).contains("exported as");
        kill9(server); // its superblocks say "active": the next read-write open resyncs
        Map<String, String> dirty = imageHashes(dir);
        assertThat(scemu("status", dir).ok().out()).contains("optimal");
        assertThat(imageHashes(dir)).as("after status on the unit left dirty").isEqualTo(dirty);
        scemu("firmware", "inspect", dir).ok(); // a read-write open marks the array clean at close
        assertThat(imageHashes(dir)).as("a read-write open did what status did not").isNotEqualTo(dirty);

        scemu("firmware", "corrupt", dir).ok(); // a damaged flash image: the boot restores it from the backup
        Map<String, String> corrupt = imageHashes(dir);
        assertThat(scemu("status", dir).ok().out()).contains("found problems; the next read-write open repairs them");
        assertThat(imageHashes(dir)).as("after status on the damaged flash").isEqualTo(corrupt);
        assertThat(scemu("status", dir).ok().out()).as("a second look finds the same damage")
                .contains("found problems; the next read-write open repairs them");
        scemu("firmware", "inspect", dir).ok();
        assertThat(imageHashes(dir).get("nvram.img")).as("the read-write open restored the flash")
                .isNotEqualTo(corrupt.get("nvram.img"));
        assertThat(scemu("status", dir).ok().out()).contains("boot       clean");
    }

    /** A lost nvram.img is a blank flash chip: status reports it and creates nothing; a read-write open restores it. */
    @Test
    void statusOfAUnitWithoutItsNvramImageReportsItAndCreatesNothing(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        java.nio.file.Files.delete(dir.resolve("nvram.img"));
        Map<String, String> before = imageHashes(dir);

        String out = scemu("status", dir).ok().out();
        assertThat(out).contains("nvram.img is missing").contains("found problems; the next read-write open repairs them")
                .contains("optimal");
        assertThat(dir.resolve("nvram.img")).doesNotExist();
        assertThat(imageHashes(dir)).isEqualTo(before);

        assertThat(scemu("firmware", "inspect", dir).ok().out()).as("a read-write open").contains("FLASH: VALID");
        assertThat(dir.resolve("nvram.img")).exists();
        assertThat(scemu("status", dir).ok().out()).contains("boot       clean").doesNotContain("nvram.img is missing");
    }
}
