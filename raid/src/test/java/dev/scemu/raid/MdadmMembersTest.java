package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Media;
import dev.scemu.core.MediaKind;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Members whose metadata the real mdadm wrote: scemu assembles them, writes, and mdadm still agrees. */
class MdadmMembersTest {

    @TempDir
    Path dir;

    static List<BlockDevice> open(List<Path> paths) {
        List<BlockDevice> devices = new ArrayList<>();
        for (Path p : paths) {
            devices.add(Media.openExisting(MediaKind.FILE, p, 4096));
        }
        return devices;
    }

    @Test
    void probe() throws Exception {
        List<Path> m = MdadmFixture.create(dir, "r5", 3, 64L << 20, "--level=5", "--chunk=512", "--assume-clean",
                "--bitmap=internal");
        System.out.println(MdadmFixture.examine(m.get(0)));
        System.out.println(MdadmFixture.examineBitmap(m.get(0)));
        try (RaidArray array = RaidArray.assemble(open(m))) {
            assertThat(array.level()).isEqualTo(RaidLevel.RAID5);
        }
    }
}
