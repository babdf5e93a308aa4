package dev.scemu.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class DemoCommandTest {

    private static String[] runDemo(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new String[] {String.valueOf(status), out.toString(), err.toString()};
    }

    @Test
    void demoKeepsEveryFlushedBlockThroughAPowerCut() {
        String[] result = runDemo("demo", "--disk-size-mib", "8", "--seed", "7");
        assertThat(result[0]).as("exit status, stderr: %s", result[2]).isEqualTo("0");
        Matcher intact = Pattern.compile("(\\d+)/(\\d+) flushed blocks intact").matcher(result[1]);
        assertThat(intact.find()).as(result[1]).isTrue();
        assertThat(intact.group(1)).isEqualTo(intact.group(2));
        assertThat(Integer.parseInt(intact.group(2))).isPositive();
        assertThat(result[1]).contains("MEDIUM_ERROR").contains("finds 1 corrupted block(s)");
    }

    @Test
    void sameSeedGivesTheSameReport() {
        String first = runDemo("demo", "--disk-size-mib", "8", "--seed", "11")[1].replaceAll("done in \\d+ ms", "");
        String second = runDemo("demo", "--disk-size-mib", "8", "--seed", "11")[1].replaceAll("done in \\d+ ms", "");
        assertThat(first).isEqualTo(second);
    }

    @Test
    void unknownOptionIsOneClearLineAndNonZeroStatus() {
        String[] result = runDemo("demo", "--no-such-option");
        assertThat(result[0]).isNotEqualTo("0");
        assertThat(result[2]).contains("--no-such-option");
    }
}
