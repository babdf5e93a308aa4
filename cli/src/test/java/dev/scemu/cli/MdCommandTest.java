package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.scemu.core.LoopDevice;
import dev.scemu.raid.internal.MdSuperblock;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scemu md examine} and {@code scemu md serve} on members the real mdadm wrote (with the
 * raid module's mdfake preload library, see raid/src/test/c/mdfake.c): qemu-io writes through the
 * NBD export, and mdadm then still accepts the members. Skips without gcc, mdadm or qemu-io
 * (fails under CI=true).
 */
class MdCommandTest {

    @TempDir
    Path tmp;

    @AfterEach
    void clearHook() {
        MdCommand.testHook = null;
    }

    private static void require(String program) {
        boolean found = CliTestSupport.installed(program) || Files.isExecutable(Path.of("/usr/sbin", program));
        if (!found && "true".equals(System.getenv("CI"))) {
            fail(program + " is not installed (CI=true requires it)");
        }
        assumeTrue(found, program + " is not installed; skipping");
    }

    private static Path library() {
        Path so = Path.of("target/mdfake/mdfake.so").toAbsolutePath();
        if (!Files.exists(so)) {
            CliTestSupport.ProcessResult r = CliTestSupport.run(List.of("gcc", "-shared", "-fPIC", "-O1", "-o",
                    so.toString(), Path.of("../raid/src/test/c/mdfake.c").toAbsolutePath().toString(), "-ldl"));
            assertThat(r.exitCode()).as(r.output()).isZero();
        }
        return so;
    }

    /** mdadm (preloaded with mdfake, members seen as block devices) with {@code args}. */
    private String mdadm(List<Path> members, String... args) throws Exception {
        Path root = Files.createTempDirectory(tmp, "root");
        for (String sub : List.of("dev", "run", "sys")) {
            Files.createDirectories(root.resolve(sub));
        }
        List<String> command = new ArrayList<>(List.of("/usr/sbin/mdadm"));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("LD_PRELOAD", library().toString());
        builder.environment().put("MDFAKE_ROOT", root.toString());
        builder.environment().put("MDADM_NO_UDEV", "1");
        builder.environment().put("MDFAKE_DISKS", String.join(":", members.stream().map(Path::toString).toList()));
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        return out;
    }

    private List<Path> mdadmRaid5(String name) throws Exception {
        Files.createDirectories(Path.of("target/mdfake"));
        List<Path> members = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Path m = tmp.resolve(name + i + ".img");
            try (RandomAccessFile f = new RandomAccessFile(m.toFile(), "rw")) {
                f.setLength(32L << 20);
            }
            members.add(m.toAbsolutePath());
        }
        List<String> args = new ArrayList<>(List.of("--create", "/dev/md/" + name, "--metadata=1.2", "--run",
                "--level=5", "--chunk=64", "--bitmap=internal", "--assume-clean", "--raid-devices=3"));
        members.forEach(m -> args.add(m.toString()));
        String out = mdadm(members, args.toArray(new String[0]));
        assertThat(out).contains("started");
        return members;
    }

    /** mdadm --create over image files of the given sizes (spares last, with --spare-devices=N in options). */
    private List<Path> mdadmSet(String name, long[] sizes, int raidDevices, String... options) throws Exception {
        Files.createDirectories(Path.of("target/mdfake"));
        List<Path> members = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            Path m = tmp.resolve(name + i + ".img");
            try (RandomAccessFile f = new RandomAccessFile(m.toFile(), "rw")) {
                f.setLength(sizes[i]);
            }
            members.add(m.toAbsolutePath());
        }
        List<String> args = new ArrayList<>(List.of("--create", "/dev/md/" + name, "--metadata=1.2", "--run",
                "--raid-devices=" + raidDevices));
        args.addAll(List.of(options));
        members.forEach(m -> args.add(m.toString()));
        String out = mdadm(members, args.toArray(new String[0]));
        assertThat(out).contains("started");
        return members;
    }

    /**
     * A RAID-0 of members of different sizes (md's strip zones, layout alternate): md examine names
     * the zones and the layout, md serve takes a write in the last zone through NBD and reads it
     * back, and mdadm still reads every member as clean.
     */
    @Test
    void mdServeServesAMultiZoneRaid0() throws Exception {
        require("gcc");
        require("mdadm");
        require("qemu-io");
        List<Path> members = mdadmSet("z", new long[] {(8L << 20) + (64 << 10), 12L << 20, 20L << 20}, 3,
                "--level=0", "--chunk=64", "--layout=alternate");
        List<Object> examine = new ArrayList<>(List.of("md", "examine"));
        examine.addAll(members);
        assertThat(scemu(examine.toArray()).ok().out()).contains("layout         alternate (2)")
                .contains("set: assembles as raid0 of 3 members")
                .contains("3 zones (members of different sizes, layout alternate)");
        AtomicReference<CliTestSupport.ProcessResult> io = new AtomicReference<>();
        MdCommand.testHook = server -> io.set(CliTestSupport.run(List.of("qemu-io", "-f", "raw",
                "nbd://127.0.0.1:" + server.port() + "/md", "-c", "write -P 0x5a 30M 1M", "-c", "read -P 0x5a 30M 1M")));
        List<Object> args = new ArrayList<>(List.of("md", "serve", "--port", "0"));
        args.addAll(members);
        scemu(args.toArray()).ok();
        assertThat(io.get().exitCode()).as(io.get().output()).isZero();
        assertThat(io.get().output()).contains("read 1048576/1048576").doesNotContain("Pattern verification failed");
        for (Path m : members) {
            assertThat(mdadm(List.of(m), "--examine", m.toString())).contains("State : clean")
                    .contains("Layout : alternate");
        }
    }

    /** A spare of an mdadm set: md examine shows its role as spare and names it on the set line. */
    /**
     * {@code md serve} and the unit do not open the same members at once, as the kernel refuses to
     * assemble members another array holds: {@code md serve} on the disks of a unit another command
     * owns is refused with UNIT_BUSY (17) naming it, and while {@code md serve} has them the unit
     * cannot be opened; afterwards it can. Before, both assembled the members and wrote
     * superblocks, bitmap and data the other did not know of.
     */
    @Test
    void mdServeAndTheUnitNeverHaveTheSameMembersOpenAtOnce() throws Exception {
        Path dir = tmp.resolve("unit");
        CliTestSupport.createSmallUnit(dir);
        Object[] serveArgs = {"md", "serve", "--port", "0", dir.resolve("disk0.img"), dir.resolve("disk1.img"),
                dir.resolve("disk2.img"), dir.resolve("disk3.img")};
        byte[] before = Files.readAllBytes(dir.resolve("disk0.img"));
        MdCommand.testHook = server -> { }; // an md serve that is not refused returns at once
        try (dev.scemu.unit.StorageControlUnit unit = dev.scemu.unit.StorageControlUnit.open(dir)) {
            CliTestSupport.Result refused = scemu(serveArgs).failsWithOneLine("UNIT_BUSY");
            assertThat(refused.status()).isEqualTo(17);
        }
        assertThat(Files.readAllBytes(dir.resolve("disk0.img"))).as("the refused md serve wrote nothing").isEqualTo(before);
        Path links = Files.createDirectory(tmp.resolve("links")); // the same members through symbolic links
        Object[] linkedArgs = {"md", "serve", "--port", "0",
                Files.createSymbolicLink(links.resolve("a.img"), dir.resolve("disk0.img")),
                Files.createSymbolicLink(links.resolve("b.img"), dir.resolve("disk1.img")),
                Files.createSymbolicLink(links.resolve("c.img"), dir.resolve("disk2.img")),
                Files.createSymbolicLink(links.resolve("d.img"), dir.resolve("disk3.img"))};
        try (dev.scemu.unit.StorageControlUnit unit = dev.scemu.unit.StorageControlUnit.open(dir)) {
            scemu(linkedArgs).failsWithOneLine("UNIT_BUSY");
        }

        AtomicReference<CliTestSupport.Result> status = new AtomicReference<>();
        MdCommand.testHook = server -> status.set(scemu("status", dir));
        scemu(serveArgs).ok();
        status.get().failsWithOneLine("UNIT_BUSY");
        assertThat(scemu("status", dir).ok().out()).as("released when md serve stops").contains("optimal");
    }

    @Test
    void mdExamineShowsASpare() throws Exception {
        require("gcc");
        require("mdadm");
        List<Path> members = mdadmSet("sp", new long[] {32L << 20, 32L << 20, 32L << 20}, 2, "--level=1",
                "--bitmap=internal", "--assume-clean", "--spare-devices=1");
        List<Object> examine = new ArrayList<>(List.of("md", "examine"));
        examine.addAll(members);
        assertThat(scemu(examine.toArray()).ok().out()).contains("role           spare (device number 2)")
                .contains("set: assembles as raid1 of 2 members").contains("; 1 spare: sp2.img");
    }

    /**
     * {@code md serve} assembles a clean mdadm set read-auto (md's {@code start_ro}): a client that
     * only reads, and the stop, leave every member byte-identical; the first write makes the set
     * active (events move, mdadm still reads it clean after the stop).
     */
    @Test
    void mdServeToAReaderWritesNothingToTheMembers() throws Exception {
        require("gcc");
        require("mdadm");
        require("qemu-io");
        List<Path> members = mdadmRaid5("ra");
        Map<String, String> before = CliTestSupport.imageHashes(tmp);
        AtomicReference<CliTestSupport.ProcessResult> read = new AtomicReference<>();
        MdCommand.testHook = server -> read.set(CliTestSupport.run(List.of("qemu-io", "-f", "raw", "-r",
                "nbd://127.0.0.1:" + server.port() + "/md", "-c", "read 0 4M")));
        List<Object> args = new ArrayList<>(List.of("md", "serve", "--port", "0"));
        args.addAll(members);
        assertThat(scemu(args.toArray()).ok().out()).containsPattern("nbd://127\\.0\\.0\\.1:\\d+/md +read-write");
        assertThat(read.get().output()).as(read.get().output()).contains("read 4194304/4194304");
        assertThat(CliTestSupport.imageHashes(tmp)).as("members after serving a reader").isEqualTo(before);

        AtomicReference<CliTestSupport.ProcessResult> write = new AtomicReference<>();
        MdCommand.testHook = server -> write.set(CliTestSupport.run(List.of("qemu-io", "-f", "raw",
                "nbd://127.0.0.1:" + server.port() + "/md", "-c", "write -P 0x3c 0 64k")));
        scemu(args.toArray()).ok();
        assertThat(write.get().output()).as(write.get().output()).contains("wrote 65536/65536");
        assertThat(CliTestSupport.imageHashes(tmp)).as("members after a write").isNotEqualTo(before);
        for (Path m : members) {
            assertThat(mdadm(List.of(m), "--examine", m.toString())).contains("State : clean");
        }
    }

    @Test
    void mdServeServesAnMdadmSetOverNbdAndMdadmStillAcceptsTheMembers() throws Exception {
        require("gcc");
        require("mdadm");
        require("qemu-io");
        List<Path> members = mdadmRaid5("srv");
        AtomicReference<CliTestSupport.ProcessResult> write = new AtomicReference<>();
        MdCommand.testHook = server -> write.set(CliTestSupport.run(List.of("qemu-io", "-f", "raw",
                "nbd://127.0.0.1:" + server.port() + "/md", "-c", "write -P 0xab 1M 1M", "-c", "read -P 0xab 1M 1M")));
        List<Object> args = new ArrayList<>(List.of("md", "serve", "--port", "0"));
        args.addAll(members);
        assertThat(scemu(args.toArray()).ok().out()).containsPattern("nbd://127\\.0\\.0\\.1:\\d+/md +read-write");
        assertThat(write.get().exitCode()).as(write.get().output()).isZero();
        assertThat(write.get().output()).doesNotContain("Pattern verification failed");

        for (Path m : members) {
            String examine = mdadm(List.of(m), "--examine", m.toString());
            assertThat(examine).contains("State : clean").contains("Checksum :").contains("correct")
                    .contains("Array State : AAA");
            assertThat(examine).doesNotContain("Events : 0\n");
            String bitmap = mdadm(List.of(m), "--examine-bitmap", m.toString());
            assertThat(bitmap).contains(", 0 dirty");
        }

        AtomicReference<CliTestSupport.ProcessResult> read = new AtomicReference<>();
        AtomicReference<CliTestSupport.ProcessResult> refused = new AtomicReference<>();
        MdCommand.testHook = server -> {
            String uri = "nbd://127.0.0.1:" + server.port() + "/md";
            read.set(CliTestSupport.run(List.of("qemu-io", "-f", "raw", "-r", uri, "-c", "read -P 0xab 1M 1M")));
            refused.set(CliTestSupport.run(List.of("qemu-io", "-f", "raw", uri, "-c", "write -P 0xcd 0 4k")));
        };
        args.add(2, "--read-only");
        assertThat(scemu(args.toArray()).ok().out()).contains("read-only");
        assertThat(read.get().output()).as(read.get().output()).doesNotContain("Pattern verification failed")
                .contains("read 1048576/1048576");
        assertThat(refused.get().output()).as("a read-only export refuses writes").doesNotContain("wrote 4096/4096");
    }

    @Test
    void mdExamineReportsEachMemberAndWhyASetDoesNotAssemble() throws Exception {
        require("gcc");
        require("mdadm");
        List<Path> members = mdadmRaid5("ex");
        List<Object> args = new ArrayList<>(List.of("md", "examine"));
        args.addAll(members);
        String out = scemu(args.toArray()).ok().out();
        assertThat(out).contains("level          raid5").contains("layout         left-symmetric (2)")
                .contains("chunk          64 KiB").contains("bad-block log  8 sectors at superblock +16 (512 entries")
                .contains("bitmap         8 sectors from superblock").contains("max_dev        128")
                .contains("role           active device 2").contains("set: assembles as raid5 of 3 members");

        try (FileChannel c = FileChannel.open(members.get(2), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer raw = ByteBuffer.allocate(4096);
            c.read(raw, 4096);
            MdSuperblock sb = MdSuperblock.decode(raw.array(), "patch");
            sb.featureMap |= 0x200;
            c.write(ByteBuffer.wrap(sb.encode()), 4096);
        }
        CliTestSupport.Result bad = scemu(args.toArray());
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.out()).contains("feature map    0x201 (bitmap, journal - unsupported)")
                .contains("set: does not assemble").contains("has feature bit 0x200 (journal)");
        List<Object> serve = new ArrayList<>(List.of("md", "serve", "--port", "0"));
        serve.addAll(members);
        scemu(serve.toArray()).failsWithOneLine("scemu: UNSUPPORTED: member ex2.img has feature bit 0x200 (journal)");
    }

    private static List<LoopDevice> attach(List<Path> files, boolean readOnly, List<LoopDevice> attached) {
        List<LoopDevice> loops = new ArrayList<>();
        for (Path file : files) {
            LoopDevice loop = LoopDevice.attach(file, readOnly);
            attached.add(loop);
            loops.add(loop);
        }
        return loops;
    }

    private static List<Object> command(List<LoopDevice> loops, Object... words) {
        List<Object> args = new ArrayList<>(List.of(words));
        loops.forEach(l -> args.add(l.path()));
        return args;
    }

    /**
     * The members of an mdadm set attached as loop devices: {@code md examine} and {@code md serve
     * --read-only} work on write-protected loop devices (only an O_RDONLY open can), {@code md serve}
     * writes through NBD onto writable ones while claiming them exclusively, and after detaching,
     * mdadm accepts the image files and the data written is in them.
     */
    @Test
    void mdExamineAndServeWorkOnBlockDevices() throws Exception {
        require("gcc");
        require("mdadm");
        require("qemu-io");
        List<Path> members = mdadmRaid5("blk");
        List<LoopDevice> attached = new ArrayList<>();
        try {
            List<LoopDevice> readOnly = attach(members, true, attached);
            String examined = scemu(command(readOnly, "md", "examine").toArray()).ok().out();
            assertThat(examined).contains("level          raid5").contains("role           active device 0")
                    .contains("role           active device 2").contains("set: assembles as raid5 of 3 members");
            for (LoopDevice loop : readOnly) {
                assertThat(examined).contains(loop.path().getFileName().toString());
            }
            scemu(command(readOnly, "md", "serve", "--port", "0").toArray()).failsWithOneLine("scemu: READ_ONLY: block"
                    + " device " + readOnly.get(0).path() + " is write-protected (BLKROGET): it can only be opened"
                    + " read-only (serve it with --read-only)");
            AtomicReference<CliTestSupport.ProcessResult> zeros = new AtomicReference<>();
            MdCommand.testHook = server -> zeros.set(CliTestSupport.run(List.of("qemu-io", "-f", "raw", "-r",
                    "nbd://127.0.0.1:" + server.port() + "/md", "-c", "read -P 0 0 2M")));
            assertThat(scemu(command(readOnly, "md", "serve", "--read-only", "--port", "0").toArray()).ok().out())
                    .contains("read-only");
            assertThat(zeros.get().output()).as(zeros.get().output()).contains("read 2097152/2097152")
                    .doesNotContain("Pattern verification failed");
            readOnly.forEach(LoopDevice::close);

            List<LoopDevice> writable = attach(members, false, attached);
            AtomicReference<CliTestSupport.ProcessResult> write = new AtomicReference<>();
            AtomicReference<Throwable> secondWriter = new AtomicReference<>();
            MdCommand.testHook = server -> {
                write.set(CliTestSupport.run(List.of("qemu-io", "-f", "raw", "nbd://127.0.0.1:" + server.port()
                        + "/md", "-c", "write -P 0xab 1M 1M", "-c", "read -P 0xab 1M 1M")));
                try {
                    MdCommand.open(List.of(writable.get(1).path()), 4096, false).forEach(d -> d.close());
                } catch (RuntimeException e) {
                    secondWriter.set(e);
                }
            };
            assertThat(scemu(command(writable, "md", "serve", "--port", "0").toArray()).ok().out())
                    .containsPattern("nbd://127\\.0\\.0\\.1:\\d+/md +read-write");
            assertThat(write.get().exitCode()).as(write.get().output()).isZero();
            assertThat(write.get().output()).contains("wrote 1048576/1048576").doesNotContain("Pattern verification");
            assertThat(secondWriter.get()).as("a served member is claimed exclusively").isNotNull()
                    .hasMessageContaining("errno=16").hasMessageContaining(writable.get(1).path().toString());
            CliTestSupport.ProcessResult real = CliTestSupport.run(List.of("/usr/sbin/mdadm", "--examine",
                    writable.get(0).path().toString()));
            assertThat(real.output()).as("mdadm on the real block device, no preload").contains("State : clean")
                    .contains("Array State : AAA");
        } finally {
            attached.forEach(LoopDevice::close);
        }

        for (Path m : members) {
            String examine = mdadm(List.of(m), "--examine", m.toString());
            assertThat(examine).contains("State : clean").contains("Checksum :").contains("correct")
                    .contains("Array State : AAA").doesNotContain("Events : 0\n");
            assertThat(mdadm(List.of(m), "--examine-bitmap", m.toString())).contains(", 0 dirty");
        }
        AtomicReference<CliTestSupport.ProcessResult> read = new AtomicReference<>();
        MdCommand.testHook = server -> read.set(CliTestSupport.run(List.of("qemu-io", "-f", "raw", "-r",
                "nbd://127.0.0.1:" + server.port() + "/md", "-c", "read -P 0xab 1M 1M", "-c", "read -P 0 0 1M")));
        List<Object> files = new ArrayList<>(List.of("md", "serve", "--read-only", "--port", "0"));
        files.addAll(members);
        scemu(files.toArray()).ok();
        assertThat(read.get().output()).as("what was written through the loop devices is in the image files")
                .contains("read 1048576/1048576").doesNotContain("Pattern verification failed");
    }

    @Test
    void aMemberThatIsNeitherAnImageNorABlockDeviceIsRefusedByName() throws Exception {
        Path directory = Files.createDirectory(tmp.resolve("not-a-disk"));
        scemu("md", "examine", directory).failsWithOneLine("scemu: INVALID_ARGUMENT: " + directory
                + " is a directory, not an image file or a block device");
        scemu("md", "serve", "--port", "0", "/dev/null").failsWithOneLine(
                "scemu: INVALID_ARGUMENT: /dev/null is a character device, not an image file or a block device");
        Path missing = tmp.resolve("missing.img");
        scemu("md", "serve", "--read-only", "--port", "0", missing).failsWithOneLine(
                "scemu: INVALID_ARGUMENT: no image file or block device at " + missing);
        assertThat(missing).doesNotExist();
    }
}
