package dev.scemu.core;

import java.nio.BufferOverflowException;
import java.nio.BufferUnderflowException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Seeded mutation fuzzing of a decoder of untrusted bytes. Each iteration mutates a valid encoding
 * (bit flips, byte overwrites, truncation, extension with garbage, integer fields set to extremes,
 * range duplication) and runs the decoder on it. Allowed outcomes: a clean decode, or one of the
 * decoder's documented exception types. Anything else — an index or buffer error from inside the
 * decoder, a {@link NullPointerException}, an {@link OutOfMemoryError}, a hang past the time limit
 * — fails with the seed, iteration, mutation and the input in hex, so it replays exactly.
 *
 * <p>It lives in controller-core, beside {@link CrashPointExplorer}, so that every module fuzzes its
 * own decoders in its own test tree (package-private decoders called directly, in their package)
 * and a vendor's CI gets it through testkit.
 */
public final class Fuzzer {

    /** Decodes one input; throws the documented exception on malformed input. */
    @FunctionalInterface
    public interface Decoder {
        void decode(byte[] input) throws Exception;
    }

    /** The mutation applied in one iteration. */
    public enum Mutation { BIT_FLIPS, BYTE_OVERWRITE, TRUNCATE, EXTEND, FIELD_EXTREME, DUPLICATE_RANGE }

    /** Outcome counts of a fuzzing run. */
    public record Report(int iterations, int decodedCleanly, int rejected, Map<Mutation, Integer> byMutation) {
    }

    private static final long[] EXTREMES = {0, -1, 1, Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE,
            Long.MIN_VALUE, 0xFFFF, 0x7FFF, 0x8000_0000L, 0xFFFF_FFFFL};

    private final long seed;
    private final int iterations;
    private final List<Class<? extends Throwable>> allowed;
    private long timeoutMillis = 5_000;

    @SafeVarargs
    public Fuzzer(long seed, int iterations, Class<? extends Throwable>... allowedExceptions) {
        this.seed = seed;
        this.iterations = iterations;
        this.allowed = List.of(allowedExceptions);
    }

    /** Per-input time limit (a decode taking longer is a hang). */
    public Fuzzer timeoutMillis(long millis) {
        this.timeoutMillis = millis;
        return this;
    }

    /** Fuzzes {@code decoder} starting from each of the valid {@code seeds} in turn. */
    public Report run(List<byte[]> validInputs, Decoder decoder) {
        Random random = new Random(seed);
        Map<Mutation, Integer> byMutation = new EnumMap<>(Mutation.class);
        int clean = 0;
        int rejected = 0;
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread thread = new Thread(r, "fuzz-decoder");
            thread.setDaemon(true);
            return thread;
        });
        try {
            for (int i = 0; i < iterations; i++) {
                byte[] valid = validInputs.get(i % validInputs.size());
                Mutation mutation = Mutation.values()[random.nextInt(Mutation.values().length)];
                byte[] input = mutate(valid, mutation, random);
                byMutation.merge(mutation, 1, Integer::sum);
                Future<?> future = executor.submit(() -> {
                    decoder.decode(input);
                    return null;
                });
                try {
                    future.get(timeoutMillis, TimeUnit.MILLISECONDS);
                    clean++;
                } catch (TimeoutException e) {
                    future.cancel(true);
                    throw failure(i, mutation, input, "decoder hung for more than " + timeoutMillis + " ms", null);
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (isAllowed(cause)) {
                        rejected++;
                    } else {
                        throw failure(i, mutation, input, "decoder threw " + cause, cause);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
            }
        } finally {
            executor.shutdownNow();
        }
        return new Report(iterations, clean, rejected, byMutation);
    }

    private boolean isAllowed(Throwable thrown) {
        if (thrown instanceof IndexOutOfBoundsException || thrown instanceof BufferUnderflowException
                || thrown instanceof BufferOverflowException || thrown instanceof NullPointerException
                || thrown instanceof NegativeArraySizeException || thrown instanceof ArithmeticException
                || thrown instanceof ClassCastException || thrown instanceof Error) {
            return false;
        }
        return allowed.stream().anyMatch(type -> type.isInstance(thrown));
    }

    private AssertionError failure(int iteration, Mutation mutation, byte[] input, String what, Throwable cause) {
        String hex = HexFormat.of().formatHex(input, 0, Math.min(input.length, 256));
        return new AssertionError("fuzz seed " + seed + " iteration " + iteration + " (" + mutation + ", "
                + input.length + " bytes): " + what + "; input starts " + hex, cause);
    }

    /** Applies one mutation to a copy of {@code valid}. */
    static byte[] mutate(byte[] valid, Mutation mutation, Random random) {
        byte[] input = valid.clone();
        if (input.length == 0) {
            return new byte[] {(byte) random.nextInt()};
        }
        switch (mutation) {
            case BIT_FLIPS -> {
                int flips = 1 + random.nextInt(8);
                for (int f = 0; f < flips; f++) {
                    int bit = random.nextInt(input.length * 8);
                    input[bit >>> 3] ^= (byte) (1 << (bit & 7));
                }
            }
            case BYTE_OVERWRITE -> {
                int count = 1 + random.nextInt(4);
                for (int c = 0; c < count; c++) {
                    input[random.nextInt(input.length)] = (byte) (random.nextBoolean() ? random.nextInt() : 0xFF);
                }
            }
            case TRUNCATE -> {
                return java.util.Arrays.copyOf(input, random.nextInt(input.length));
            }
            case EXTEND -> {
                byte[] longer = java.util.Arrays.copyOf(input, input.length + 1 + random.nextInt(512));
                for (int i = input.length; i < longer.length; i++) {
                    longer[i] = (byte) random.nextInt();
                }
                return longer;
            }
            case FIELD_EXTREME -> {
                int width = new int[] {2, 4, 8}[random.nextInt(3)];
                if (input.length >= width) {
                    int at = random.nextInt(input.length / width) * width;
                    long value = EXTREMES[random.nextInt(EXTREMES.length)];
                    for (int b = 0; b < width; b++) {
                        input[at + b] = (byte) (value >>> (8 * b));
                    }
                }
            }
            case DUPLICATE_RANGE -> {
                int from = random.nextInt(input.length);
                int length = 1 + random.nextInt(Math.min(64, input.length - from));
                int to = random.nextInt(input.length);
                List<Byte> bytes = new ArrayList<>();
                for (byte b : input) {
                    bytes.add(b);
                }
                for (int i = 0; i < length; i++) {
                    bytes.add(Math.min(to + i, bytes.size()), input[from + i]);
                }
                byte[] out = new byte[bytes.size()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = bytes.get(i);
                }
                return out;
            }
            default -> throw new IllegalStateException(mutation.toString());
        }
        return input;
    }
}
