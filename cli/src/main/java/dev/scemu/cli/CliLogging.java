package dev.scemu.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the library's log lines go when {@code scemu} runs as a process. A failing command prints
 * one line ({@code scemu: CODE: ...}); the WARN line a library logged on the way would only repeat
 * it, so by default library logging is off. {@code scemu serve DIR} (a long-running server whose
 * client and disk events matter afterwards) logs WARN and above to {@code DIR/scemu.log};
 * {@code --verbose} on any command sends INFO and above to the error stream instead. Logging is
 * configured once, before the first logger exists (slf4j-simple reads its properties then); a
 * {@code -Dorg.slf4j.simpleLogger.*} given on the java command line wins.
 */
final class CliLogging {

    static final String LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";
    static final String FILE = "org.slf4j.simpleLogger.logFile";
    static final String LOG_FILE_NAME = "scemu.log";

    private CliLogging() {
    }

    /** The slf4j-simple properties for these arguments (not yet applied). */
    static Map<String, String> settings(String... args) {
        Map<String, String> settings = new LinkedHashMap<>();
        if (Arrays.asList(args).contains("--verbose")) {
            settings.put(LEVEL, "info");
            settings.put(FILE, "System.err");
        } else if (args.length >= 2 && "serve".equals(args[0])) {
            Path dir = Arrays.stream(args).skip(1).filter(a -> !a.startsWith("-")).findFirst().map(Path::of).orElse(null);
            if (dir != null && Files.isDirectory(dir) && Files.isWritable(dir)) {
                settings.put(LEVEL, "warn");
                settings.put(FILE, dir.resolve(LOG_FILE_NAME).toAbsolutePath().toString());
                settings.put("org.slf4j.simpleLogger.showDateTime", "true");
                settings.put("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
            } else {
                settings.put(LEVEL, "off");
            }
        } else {
            settings.put(LEVEL, "off");
        }
        return settings;
    }

    /** Applies {@link #settings} as system properties, keeping any the user set. */
    static void configure(String... args) {
        settings(args).forEach((key, value) -> {
            if (System.getProperty(key) == null) {
                System.setProperty(key, value);
            }
        });
    }
}
