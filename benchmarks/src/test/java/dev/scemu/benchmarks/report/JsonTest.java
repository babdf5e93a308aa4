package dev.scemu.benchmarks.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The report's JSON reader and writer: what JMH and fio write, round trips, and clear errors. */
class JsonTest {

    @Test
    void readsJmhOutput() {
        String jmh = """
                [ {
                    "benchmark" : "dev.scemu.benchmarks.stack.StackThroughputBenchmark.raid5",
                    "params" : { "blockKib" : "4" },
                    "primaryMetric" : { "score" : 1234.5e0, "scoreError" : "NaN", "scoreUnit" : "ops/s",
                        "rawData" : [ [ 1.0, -2.5E-3 ] ] },
                    "secondaryMetrics" : { }
                } ]
                """;
        List<?> runs = (List<?>) Json.parse(jmh);
        Map<String, Object> primary = Json.obj(runs.get(0), "primaryMetric");
        assertThat(Json.str(runs.get(0), "benchmark")).endsWith("raid5");
        assertThat(Json.num(primary, "score")).isEqualTo(1234.5);
        assertThat(Json.num(primary, "scoreError")).isNaN();
        assertThat(Json.list(primary, "rawData")).containsExactly(List.of(1.0, -0.0025));
        assertThat(Json.obj(runs.get(0), "secondaryMetrics")).isEmpty();
        assertThat(Json.num(Json.obj(runs.get(0), "params"), "blockKib")).isEqualTo(4.0);
    }

    @Test
    void writesWhatItReadsBack() {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("name", "quote \" backslash \\ newline \n tab \t control \u0001 é");
        value.put("values", List.of(1.5, -2.0, true, false));
        value.put("nothing", null);
        value.put("notANumber", Double.NaN);
        value.put("empty", List.of());
        value.put("nested", Map.of("k", 3.0));
        Object back = Json.parse(Json.write(value));
        Map<String, Object> expected = new LinkedHashMap<>(value);
        expected.put("notANumber", null); // NaN is written as null
        assertThat(back).isEqualTo(expected);
    }

    @Test
    void unicodeEscapesAndWhitespace() {
        assertThat(Json.parse(" { \"a\" : \"\\u00e9\\u0041\" } ")).isEqualTo(Map.of("a", "éA"));
        assertThat(Json.parse("[]")).isEqualTo(List.of());
        assertThat(Json.parse("null")).isNull();
    }

    @Test
    void malformedInputIsAClearErrorWithItsOffset() {
        assertThatThrownBy(() -> Json.parse("{\"a\": 1")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unexpected end");
        assertThatThrownBy(() -> Json.parse("{\"a\" 1}")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected ':'").hasMessageContaining("offset");
        assertThatThrownBy(() -> Json.parse("[1, 2] x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("trailing characters");
        assertThatThrownBy(() -> Json.parse("[1.2.3]")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("malformed number");
        assertThatThrownBy(() -> Json.parse("[tru]")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected true");
    }
}
