package dev.scemu.backup.internal;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The scemu version recorded in image headers (from the filtered {@code scemu-backup.properties}). */
final class ScemuVersion {

    static final String VALUE = load();

    private ScemuVersion() {
    }

    private static String load() {
        try (InputStream in = ScemuVersion.class.getResourceAsStream("/dev/scemu/backup/scemu-backup.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                String v = p.getProperty("version");
                if (v != null && !v.startsWith("$")) {
                    return v;
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return "unknown";
    }
}
