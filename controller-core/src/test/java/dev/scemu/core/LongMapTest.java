package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** {@link LongMap} against a {@code TreeMap} under random puts, removes and clears (growing, wrapping probe runs). */
class LongMapTest {

    @Test
    void behavesLikeATreeMapUnderRandomOperations() {
        Random random = new Random(11);
        for (int round = 0; round < 20; round++) {
            LongMap<String> map = new LongMap<>();
            TreeMap<Long, String> expected = new TreeMap<>();
            // small key ranges force collisions and long probe runs; consecutive keys are what the log sees
            long keyRange = round % 2 == 0 ? 64 : 100_000;
            for (int op = 0; op < 20_000; op++) {
                long key = round % 3 == 0 ? op % keyRange : random.nextLong(keyRange);
                int kind = random.nextInt(10);
                if (kind < 5) {
                    String value = "v" + op;
                    map.put(key, value);
                    expected.put(key, value);
                } else if (kind < 9) {
                    assertThat(map.remove(key)).isEqualTo(expected.remove(key));
                } else if (random.nextInt(200) == 0) {
                    map.clear();
                    expected.clear();
                }
                assertThat(map.get(key)).isEqualTo(expected.get(key));
                assertThat(map.size()).isEqualTo(expected.size());
            }
            assertThat(map.sortedKeys()).containsExactly(expected.keySet().stream().mapToLong(Long::longValue).toArray());
            for (long key : expected.keySet()) {
                assertThat(map.get(key)).isEqualTo(expected.get(key));
            }
            int[] seen = new int[1];
            map.forEach((key, value) -> {
                assertThat(expected.get(key)).isEqualTo(value);
                seen[0]++;
            });
            assertThat(seen[0]).isEqualTo(expected.size());
        }
    }

    @Test
    void negativeAndExtremeKeysWork() {
        LongMap<Integer> map = new LongMap<>();
        long[] keys = {Long.MIN_VALUE, -1, 0, 1, Long.MAX_VALUE};
        for (int i = 0; i < keys.length; i++) {
            map.put(keys[i], i);
        }
        for (int i = 0; i < keys.length; i++) {
            assertThat(map.get(keys[i])).isEqualTo(i);
        }
        assertThat(map.sortedKeys()).containsExactly(keys);
        assertThat(map.remove(0)).isEqualTo(2);
        assertThat(map.get(0)).isNull();
        assertThat(map.size()).isEqualTo(4);
    }
}
