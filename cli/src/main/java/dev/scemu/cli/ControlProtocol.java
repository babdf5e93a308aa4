package dev.scemu.cli;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The control protocol between a {@code scemu} command and the {@code serve} process that owns the
 * unit (docs/control.md). One request and one response per connection; every field is a header
 * line of ASCII words ending in {@code \n}, followed for fields with a length by exactly that many
 * bytes (UTF-8):
 *
 * <pre>
 * request   "SCEMU-CONTROL 1\n"
 *           "cwd &lt;n&gt;\n" &lt;n bytes: the client's working directory&gt;
 *           "env &lt;n&gt;\n" &lt;n bytes: NAME=VALUE&gt;            (0..k, only SCEMU_BACKUP_PASSWORD today)
 *           "arg &lt;n&gt;\n" &lt;n bytes: one command-line argument&gt; (1..256, in order)
 *           "end\n"
 * response  "out &lt;n&gt;\n" &lt;n bytes for the client's stdout&gt;      (0..k, streamed as the command runs)
 *           "err &lt;n&gt;\n" &lt;n bytes for the client's stderr&gt;      (0..k, progress bars included)
 *           "exit &lt;status&gt;\n"                                  (last; the command's exit status)
 * </pre>
 *
 * Limits (a field over them ends the connection with an error): header line 64 bytes, field 64 KiB,
 * 256 arguments, 16 environment variables.
 */
final class ControlProtocol {

    static final String MAGIC = "SCEMU-CONTROL 1";
    static final int MAX_LINE = 64;
    static final int MAX_FIELD = 64 << 10;
    static final int MAX_ARGS = 256;
    static final int MAX_ENV = 16;

    private ControlProtocol() {
    }

    /** A decoded request. */
    record Request(String cwd, Map<String, String> env, List<String> args) {
    }

    static void writeRequest(OutputStream out, String cwd, Map<String, String> env, List<String> args)
            throws IOException {
        out.write((MAGIC + "\n").getBytes(StandardCharsets.US_ASCII));
        writeField(out, "cwd", cwd);
        for (Map.Entry<String, String> e : env.entrySet()) {
            writeField(out, "env", e.getKey() + "=" + e.getValue());
        }
        for (String arg : args) {
            writeField(out, "arg", arg);
        }
        out.write("end\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    static Request readRequest(InputStream in) throws IOException {
        String magic = readLine(in);
        if (!MAGIC.equals(magic)) {
            throw new IOException("not a scemu control request (first line '" + magic + "', expected '" + MAGIC + "')");
        }
        String cwd = null;
        Map<String, String> env = new LinkedHashMap<>();
        List<String> args = new ArrayList<>();
        while (true) {
            String line = readLine(in);
            if (line.equals("end")) {
                break;
            }
            String[] words = line.split(" ");
            if (words.length != 2) {
                throw new IOException("malformed control field '" + line + "'");
            }
            String value = new String(readBody(in, words[1]), StandardCharsets.UTF_8);
            switch (words[0]) {
                case "cwd" -> cwd = value;
                case "env" -> {
                    int eq = value.indexOf('=');
                    if (eq <= 0) {
                        throw new IOException("malformed env field '" + value + "'");
                    }
                    if (env.size() == MAX_ENV) {
                        throw new IOException("more than " + MAX_ENV + " environment variables");
                    }
                    env.put(value.substring(0, eq), value.substring(eq + 1));
                }
                case "arg" -> {
                    if (args.size() == MAX_ARGS) {
                        throw new IOException("more than " + MAX_ARGS + " arguments");
                    }
                    args.add(value);
                }
                default -> throw new IOException("unknown control field '" + words[0] + "'");
            }
        }
        if (cwd == null || args.isEmpty()) {
            throw new IOException("control request without cwd or arguments");
        }
        return new Request(cwd, env, args);
    }

    static void writeField(OutputStream out, String name, String value) throws IOException {
        writeField(out, name, value.getBytes(StandardCharsets.UTF_8));
    }

    static void writeField(OutputStream out, String name, byte[] value) throws IOException {
        if (value.length > MAX_FIELD) {
            throw new IOException(name + " field of " + value.length + " bytes exceeds " + MAX_FIELD);
        }
        out.write((name + " " + value.length + "\n").getBytes(StandardCharsets.US_ASCII));
        out.write(value);
    }

    static byte[] readBody(InputStream in, String lengthWord) throws IOException {
        int length;
        try {
            length = Integer.parseInt(lengthWord);
        } catch (NumberFormatException e) {
            throw new IOException("malformed field length '" + lengthWord + "'");
        }
        if (length < 0 || length > MAX_FIELD) {
            throw new IOException("field length " + length + " is not in 0.." + MAX_FIELD);
        }
        byte[] body = in.readNBytes(length);
        if (body.length != length) {
            throw new EOFException("connection closed inside a field of " + length + " bytes");
        }
        return body;
    }

    /** One header line without its '\n'; EOFException at end of stream. */
    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("connection closed" + (line.size() > 0 ? " inside a header line" : ""));
            }
            if (b == '\n') {
                return line.toString(StandardCharsets.US_ASCII);
            }
            if (line.size() == MAX_LINE) {
                throw new IOException("control header line longer than " + MAX_LINE + " bytes");
            }
            line.write(b);
        }
    }
}
