package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FuzzerTest {

    private static final byte[] VALID = {4, 0, 0, 0, 'a', 'b', 'c', 'd'};

    /** Length-prefixed string decoder: documented failure is IllegalArgumentException. */
    private static void carefulDecode(byte[] input) {
        if (input.length < 4) {
            throw new IllegalArgumentException("short header");
        }
        int length = (input[0] & 0xFF) | (input[1] & 0xFF) << 8 | (input[2] & 0xFF) << 16 | (input[3] & 0xFF) << 24;
        if (length < 0 || length > input.length - 4) {
            throw new IllegalArgumentException("length " + length);
        }
    }

    /** Same decoder without the length check: trusts the length field. */
    private static void carelessDecode(byte[] input) {
        int length = input[0];
        byte[] out = new byte[length];
        System.arraycopy(input, 4, out, 0, length);
    }

    @Test
    void aCarefulDecoderPasses() {
        Fuzzer.Report report = new Fuzzer(1, 2000, IllegalArgumentException.class)
                .run(List.of(VALID), FuzzerTest::carefulDecode);
        assertThat(report.decodedCleanly()).isPositive();
        assertThat(report.rejected()).isPositive();
        assertThat(report.byMutation()).hasSize(Fuzzer.Mutation.values().length);
    }

    @Test
    void aDecoderThatTrustsItsLengthFieldIsCaughtWithItsSeed() {
        assertThatThrownBy(() -> new Fuzzer(1, 2000, IllegalArgumentException.class)
                .run(List.of(VALID), FuzzerTest::carelessDecode))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("fuzz seed 1 iteration");
    }

    @Test
    void aHangIsReported() {
        assertThatThrownBy(() -> new Fuzzer(1, 10, IllegalArgumentException.class).timeoutMillis(50)
                .run(List.of(VALID), input -> {
                    if (input.length != VALID.length) {
                        new java.util.concurrent.CountDownLatch(1).await();
                    }
                }))
                .hasMessageContaining("hung");
    }

    @Test
    void mutationsAreDeterministicForASeed() {
        for (Fuzzer.Mutation mutation : Fuzzer.Mutation.values()) {
            assertThat(Fuzzer.mutate(VALID, mutation, new Random(9)))
                    .isEqualTo(Fuzzer.mutate(VALID, mutation, new Random(9)));
        }
    }
}
