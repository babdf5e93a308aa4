package dev.scemu.raid;


import dev.scemu.core.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the real {@code mdadm} on member images dumped to files; skips (JUnit assumption) when absent. */
final class Mdadm {

    private Mdadm() {
    }

    static String executable() {
        for (String candidate : List.of("/usr/sbin/mdadm", "/sbin/mdadm", "/usr/bin/mdadm")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        return null;
    }

    static void assumeInstalled() {
        dev.scemu.core.RequiredTool.requireThat(executable() != null, "mdadm", "mdadm"); // fails under CI=true
    }

    /** Copies every block of {@code device} to {@code file} (sparse where the device reads zeros). */
    static Path dump(BlockDevice device, Path file) throws IOException {
        int chunkBlocks = Math.max(1, (1 << 20) / device.blockSize());
        ByteBuffer buffer = ByteBuffer.allocateDirect(chunkBlocks * device.blockSize());
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long lba = 0; lba < device.blockCount(); lba += chunkBlocks) {
                int n = (int) Math.min(chunkBlocks, device.blockCount() - lba);
                device.read(lba, n, buffer, 0);
                ByteBuffer slice = buffer.slice(0, n * device.blockSize());
                boolean zero = slice.mismatch(ByteBuffer.allocate(slice.capacity())) < 0;
                if (!zero) {
                    out.write(slice, lba * device.blockSize());
                }
            }
            out.truncate(device.geometry().capacityBytes());
            if (out.size() < device.geometry().capacityBytes()) {
                out.write(ByteBuffer.allocate(1), device.geometry().capacityBytes() - 1);
            }
        }
        return file;
    }

    static String run(String... args) throws IOException, InterruptedException {
        String[] command = new String[args.length + 1];
        command[0] = executable();
        System.arraycopy(args, 0, command, 1, args.length);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("mdadm timed out");
        }
        return output;
    }

    /** "Key : value" lines of mdadm's output. */
    static Map<String, String> fields(String output) {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            int colon = line.indexOf(" : ");
            if (colon > 0) {
                fields.put(line.substring(0, colon).trim(), line.substring(colon + 3).trim());
            }
        }
        return fields;
    }
}
