package dev.scemu.cli;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.ImageLock;
import dev.scemu.core.Media;
import dev.scemu.nbd.NbdServer;
import dev.scemu.raid.AssembleOptions;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import java.io.PrintWriter;
import java.net.InetAddress;
import dev.scemu.unit.StorageControlUnit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code scemu md}: md members that mdadm (a real NAS) or scemu wrote, image files or block
 * devices (a NAS's disks, partitions, loop devices), without a unit: {@code examine} prints what
 * scemu reads from them, {@code serve} assembles them as md would and serves the array as one NBD
 * export (no GPT, snapshot or unit layer). {@code examine} and {@code serve --read-only} open every
 * member {@code O_RDONLY}. See docs/raid-on-disk.md.
 */
@Command(name = "md", mixinStandardHelpOptions = true,
        description = "Examine or serve md v1.2 members (RAID-0/1/5), image files or block devices, directly.",
        subcommands = {MdCommand.Examine.class, MdCommand.Serve.class})
final class MdCommand {

    /** Test hook of {@code md serve}: called with the running server instead of waiting for Ctrl-C. */
    static volatile Consumer<NbdServer> testHook;

    /** Name of the one export of {@code md serve}. */
    static final String EXPORT = "md";

    /**
     * Opens the members, image files or block devices ({@link Media#openDisk}), {@code O_RDONLY}
     * when {@code readOnly}; anything else (a directory, a character device) is refused with
     * {@code INVALID_ARGUMENT} naming it. Closes what it opened if one fails.
     */
    static List<BlockDevice> open(List<Path> disks, int blockSize, boolean readOnly) {
        List<BlockDevice> devices = new ArrayList<>();
        try {
            for (Path disk : disks) {
                devices.add(Media.openDisk(disk, blockSize, readOnly));
            }
        } catch (RuntimeException e) {
            devices.forEach(BlockDevice::close);
            throw e;
        }
        return devices;
    }

    /**
     * Takes what keeps two owners off the same members, as the kernel refuses to assemble members
     * another array holds: the lock of every unit directory that holds one of {@code disks} (image
     * files of a scemu unit: {@code md serve} is refused while {@code scemu serve} or another command
     * has the unit, {@code UNIT_BUSY}, and the unit cannot be opened while {@code md serve} has them),
     * then an {@link ImageLock} on every image file, exclusive unless {@code readOnly} (a second
     * {@code md serve} of the same images, or a QEMU tool that has one open, is refused with
     * {@code IN_USE}; read-only serves share them). Releases what it took if one is refused.
     */
    static List<AutoCloseable> lockMembers(List<Path> disks, boolean readOnly) {
        List<AutoCloseable> locks = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        try {
            for (Path disk : disks) {
                if (!Files.isRegularFile(disk)) {
                    continue; // a block device (claimed O_EXCL when opened to write), or nothing (opening it says why)
                }
                Path directory = realPath(disk).getParent(); // where the image is, through any symbolic link
                if (directory != null && StorageControlUnit.isUnitDirectory(directory) && seen.add(directory)) {
                    locks.add(StorageControlUnit.lockDirectory(directory));
                }
            }
            for (Path disk : disks) {
                if (Files.isRegularFile(disk)) {
                    locks.add(ImageLock.acquire(realPath(disk), !readOnly));
                }
            }
        } catch (RuntimeException e) {
            release(locks);
            throw e;
        }
        return locks;
    }

    /** Releases {@code locks}, last taken first. */
    static void release(List<AutoCloseable> locks) {
        for (int i = locks.size() - 1; i >= 0; i--) {
            try {
                locks.get(i).close();
            } catch (Exception e) {
                // a lock's release is a close of its descriptor: nothing to report to the user
            }
        }
    }

    private static Path realPath(Path file) {
        try {
            return file.toRealPath();
        } catch (java.io.IOException e) {
            throw new CliException("cannot resolve " + file + ": " + e.getMessage());
        }
    }

    /**
     * 4 KiB blocks when every member's length (a block device's size) is a multiple of it, else
     * 512 bytes (md's sector), so any data offset fits.
     */
    static int blockSizeFor(List<Path> disks) {
        for (Path disk : disks) {
            if (Media.diskLengthBytes(disk) % 4096 != 0) {
                return 512;
            }
        }
        return 4096;
    }

    /** A refusal of something scemu does not implement reads {@code UNSUPPORTED: ...}. */
    static RuntimeException translate(RaidException e) {
        if (e.code() == RaidError.UNSUPPORTED_FEATURE) {
            return new CliException("UNSUPPORTED: " + e.getMessage().substring((e.code() + ": ").length()), e);
        }
        return e;
    }

    @Command(name = "examine", mixinStandardHelpOptions = true,
            description = "Print what scemu reads from each member, and whether the set assembles and why not.")
    static final class Examine implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "DISK", arity = "1..*",
                description = "Members: image files or block devices (opened read-only).")
        List<Path> disks;

        @Override
        public Integer call() {
            List<BlockDevice> devices = open(disks, blockSizeFor(disks), true);
            try {
                String report = RaidArray.examine(devices);
                spec.commandLine().getOut().print(report);
                return report.contains("set: assembles") ? 0 : 1;
            } finally {
                devices.forEach(BlockDevice::close);
            }
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Assemble the members as md would and serve the array as one NBD export until interrupted.")
    static final class Serve implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "DISK", arity = "1..*",
                description = "Members, in any order: image files or block devices (a block device opened for "
                        + "writing is claimed exclusively: refused while mounted or held by the kernel's md; an "
                        + "image file is locked as QEMU locks images: refused while another md serve or a QEMU "
                        + "tool has it open, shared between --read-only serves).")
        List<Path> disks;

        @ArgGroup(exclusive = true)
        Listen listen;

        static final class Listen {
            @Option(names = "--port", paramLabel = "PORT", description = "TCP port on 127.0.0.1, 0..65535 (0: any free port; default: 10809).")
            Integer port;

            @Option(names = "--socket", paramLabel = "PATH", description = "Listen on a unix socket instead of TCP.")
            Path socket;
        }

        @Option(names = "--read-only",
                description = "Assemble read-only: the members are opened O_RDONLY and nothing is written to them.")
        boolean readOnly;

        @Override
        public Integer call() throws InterruptedException {
            PrintWriter out = spec.commandLine().getOut();
            Path socket = listen == null ? null : listen.socket;
            int port = listen == null || listen.port == null ? 10809 : listen.port;
            if (socket == null) {
                UsageException.checkRange("--port", port, 0, 65535);
            }
            List<AutoCloseable> locks = lockMembers(disks, readOnly);
            try {
                return serve(out, socket, port, locks);
            } catch (RuntimeException | InterruptedException e) {
                release(locks);
                throw e;
            }
        }

        /** Serves until stopped; {@code locks} are released when the array has closed ({@link #stop}). */
        private Integer serve(PrintWriter out, Path socket, int port, List<AutoCloseable> locks)
                throws InterruptedException {
            List<BlockDevice> devices;
            try {
                devices = open(disks, blockSizeFor(disks), readOnly);
            } catch (CoreException e) {
                if (e.code() == CoreError.READ_ONLY) {
                    throw new CliException(e.getMessage() + " (serve it with --read-only)", e);
                }
                throw e;
            }
            RaidArray array;
            try {
                // read-auto (md's start_ro): a clean set is assembled without a write and stays
                // unwritten until a client writes, so serving it to readers changes no member byte
                array = RaidArray.assemble(devices, AssembleOptions.defaults().withReadOnly(readOnly).withReadAuto(true));
            } catch (RaidException e) {
                devices.forEach(BlockDevice::close);
                throw translate(e);
            } catch (RuntimeException e) {
                devices.forEach(BlockDevice::close);
                throw e;
            }
            NbdServer server;
            try {
                NbdServer.Builder builder = NbdServer.builder().export(EXPORT, array, "md " + array.level() + " of "
                        + array.raidDisks() + " members" + (array.isDegraded() ? " (degraded)" : ""), readOnly);
                if (socket != null) {
                    builder.bindUnix(socket);
                } else {
                    builder.bindTcp(InetAddress.getLoopbackAddress(), port);
                }
                server = builder.start();
            } catch (RuntimeException e) {
                array.close();
                throw e;
            }
            String uri = socket != null ? "nbd+unix:///" + EXPORT + "?socket=" + socket.toAbsolutePath()
                    : "nbd://127.0.0.1:" + server.port() + "/" + EXPORT;
            out.printf("%-40s %s%n", uri, readOnly ? "read-only" : "read-write");
            for (AutoCloseable lock : locks) {
                if (lock instanceof ImageLock image && !image.held()) {
                    out.printf("%s is not locked (%s): nothing keeps another md serve or a QEMU tool off it%n",
                            image.file(), image.unheldReason());
                }
            }
            for (int r = 0; r < array.raidDisks(); r++) {
                if (array.memberFault(r) != null) {
                    out.printf("member %d: %s%n", r, array.memberFault(r));
                }
            }
            CountDownLatch stopped = new CountDownLatch(1);
            Consumer<NbdServer> hook = testHook;
            if (hook != null) {
                try {
                    hook.accept(server);
                } finally {
                    stop(server, array, locks);
                }
                return 0;
            }
            out.println("serving; press Ctrl-C to stop");
            out.flush();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stop(server, array, locks);
                stopped.countDown();
            }, "scemu-md-serve-shutdown"));
            stopped.await();
            return 0;
        }

        /**
         * No NBD request runs, then the array stops cleanly (superblocks clean, bitmap cleared) and
         * closes, then the image locks and unit directories are released.
         */
        private static synchronized void stop(NbdServer server, RaidArray array, List<AutoCloseable> locks) {
            try {
                server.close();
            } finally {
                try {
                    array.close();
                } finally {
                    release(locks);
                }
            }
        }
    }
}
