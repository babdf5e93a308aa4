package dev.scemu.raid;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Member sets whose md metadata the real {@code mdadm --create} wrote. mdadm needs the md driver
 * only for a few ioctls and sysfs reads; {@code src/test/c/mdfake.c}, compiled here with gcc into
 * {@code target/mdfake/mdfake.so} and preloaded, answers those, so mdadm writes its genuine v1.2
 * superblock, bitmap and bad-block log onto plain image files (see that file's comment).
 *
 * <p>Skips (JUnit assumption) when gcc or mdadm is missing, except under {@code CI=true}, where a
 * missing tool fails the test by name (.ci/run installs both).
 */
final class MdadmFixture {

    private static final long TIMEOUT_SECONDS = 60;
    private static Path library;

    private MdadmFixture() {
    }

    /** The compiled preload library; skips or fails (under CI) when gcc or mdadm is missing. */
    static synchronized Path library() throws IOException, InterruptedException {
        requireTool("gcc", "/usr/bin/gcc", "gcc");
        requireTool("mdadm", Mdadm.executable(), "mdadm");
        if (library == null) {
            Path source = Path.of("src/test/c/mdfake.c").toAbsolutePath();
            Path out = Path.of("target/mdfake").toAbsolutePath();
            Files.createDirectories(out);
            Path so = out.resolve("mdfake.so");
            Result r = run(List.of("gcc", "-shared", "-fPIC", "-O1", "-Wall", "-o", so.toString(), source.toString(),
                    "-ldl"), null, List.of());
            if (r.exitCode != 0) {
                throw new AssertionError("gcc could not build " + source + ":\n" + r.output);
            }
            library = so;
        }
        return library;
    }

    private static void requireTool(String name, String path, String debianPackage) {
        boolean found = path != null && Files.isExecutable(Path.of(path)) || onPath(name);
        if (!found && "true".equals(System.getenv("CI"))) {
            fail(name + " is not installed (CI=true requires it: apt-get install " + debianPackage + ")");
        }
        assumeTrue(found, name + " is not installed (apt-get install " + debianPackage + "); skipping");
    }

    private static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    record Result(int exitCode, String output) {
    }

    /**
     * Creates {@code count} sparse member images of {@code bytesEach} bytes in {@code dir} and runs
     * {@code mdadm --create --metadata=1.2 --run} with {@code options} (level, chunk, layout,
     * bitmap, ...) over them; returns the member paths in role order.
     */
    static List<Path> create(Path dir, String name, int count, long bytesEach, String... options)
            throws IOException, InterruptedException {
        long[] sizes = new long[count];
        java.util.Arrays.fill(sizes, bytesEach);
        return create(dir, name, sizes, options);
    }

    /**
     * Like {@link #create(Path, String, int, long, String...)} with members of the given sizes in
     * role order (a RAID-0 of unequal members has md's strip zones); options may add
     * {@code --spare-devices=N}, the last N sizes being the spares.
     */
    static List<Path> create(Path dir, String name, long[] bytesEach, String... options)
            throws IOException, InterruptedException {
        int spares = 0;
        for (String o : options) {
            if (o.startsWith("--spare-devices=")) {
                spares = Integer.parseInt(o.substring("--spare-devices=".length()));
            }
        }
        int count = bytesEach.length;
        List<Path> members = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Path member = dir.resolve(name + "-" + i + ".img");
            try (RandomAccessFile f = new RandomAccessFile(member.toFile(), "rw")) {
                f.setLength(bytesEach[i]);
            }
            members.add(member.toAbsolutePath());
        }
        List<String> command = new ArrayList<>(List.of(Mdadm.executable(), "--create", "/dev/md/" + name,
                "--run", "--homehost=nas", "--raid-devices=" + (count - spares)));
        if (java.util.Arrays.stream(options).noneMatch(o -> o.startsWith("--metadata"))) {
            command.add("--metadata=1.2");
        }
        command.addAll(List.of(options));
        for (Path m : members) {
            command.add(m.toString());
        }
        Result r = runPreloaded(dir, members, command);
        if (r.exitCode != 0 || !r.output.contains("started")) {
            throw new AssertionError(String.join(" ", command) + " failed (exit " + r.exitCode + "):\n" + r.output);
        }
        return members;
    }

    /** {@code mdadm --examine} of a member, seen as a block device (as on a loop device). */
    static String examine(Path member) throws IOException, InterruptedException {
        return runPreloaded(member.getParent(), List.of(member),
                List.of(Mdadm.executable(), "--examine", member.toString())).output;
    }

    /** {@code mdadm --examine-bitmap} of a member, seen as a block device (so mdadm finds its internal bitmap). */
    static String examineBitmap(Path member) throws IOException, InterruptedException {
        return runPreloaded(member.getParent(), List.of(member),
                List.of(Mdadm.executable(), "--examine-bitmap", member.toString())).output;
    }

    /** {@code mdadm <option> member} (e.g. --examine-badblocks), the member seen as a block device. */
    static String run(Path member, String option) throws IOException, InterruptedException {
        return runPreloaded(member.getParent(), List.of(member),
                List.of(Mdadm.executable(), option, member.toString())).output;
    }

    private static Result runPreloaded(Path dir, List<Path> members, List<String> command)
            throws IOException, InterruptedException {
        Path so = library();
        Path root = Files.createTempDirectory(dir, "mdfake-root");
        for (String sub : List.of("dev", "run", "sys")) {
            Files.createDirectories(root.resolve(sub));
        }
        List<String> disks = new ArrayList<>();
        for (Path m : members) {
            disks.add(m.toAbsolutePath().toString());
        }
        return run(command, root, List.of("LD_PRELOAD=" + so, "MDFAKE_ROOT=" + root,
                "MDFAKE_DISKS=" + String.join(":", disks), "MDADM_NO_UDEV=1"));
    }

    private static Result run(List<String> command, Path logDir, List<String> env)
            throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        for (String e : env) {
            int eq = e.indexOf('=');
            builder.environment().put(e.substring(0, eq), e.substring(eq + 1));
        }
        Process process = builder.start();
        byte[] out = process.getInputStream().readAllBytes();
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError(String.join(" ", command) + " did not finish in " + TIMEOUT_SECONDS + " s");
        }
        return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
