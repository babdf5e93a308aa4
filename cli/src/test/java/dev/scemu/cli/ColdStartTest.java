package dev.scemu.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * {@link ColdStart#jnaSearchPath}: JNA's search path is set (so JNA does not fork ldconfig) to
 * directories that hold the libraries, and a path the user gave is kept. Whether a {@code scemu}
 * process loads jnr-ffi is checked on the real jar by {@code CliJarIT}.
 */
class ColdStartTest {

    @Test
    void setsJnasSearchPathOnlyWhereNoneIsGiven() {
        String before = System.getProperty(ColdStart.JNA_PLATFORM_PATH);
        try {
            System.clearProperty(ColdStart.JNA_PLATFORM_PATH);
            ColdStart.jnaSearchPath();
            String set = System.getProperty(ColdStart.JNA_PLATFORM_PATH);
            if ("Linux".equals(System.getProperty("os.name")) && System.getProperty("os.arch").matches("amd64|x86_64|aarch64")) {
                assertThat(set).startsWith("/usr/lib/").contains("-linux-gnu:").endsWith(":/usr/lib:/lib:/usr/local/lib");
            } else {
                assertThat(set).isNull();
            }

            System.setProperty(ColdStart.JNA_PLATFORM_PATH, "/opt/mine");
            ColdStart.jnaSearchPath();
            assertThat(System.getProperty(ColdStart.JNA_PLATFORM_PATH)).isEqualTo("/opt/mine");
        } finally {
            if (before == null) {
                System.clearProperty(ColdStart.JNA_PLATFORM_PATH);
            } else {
                System.setProperty(ColdStart.JNA_PLATFORM_PATH, before);
            }
        }
    }
}
