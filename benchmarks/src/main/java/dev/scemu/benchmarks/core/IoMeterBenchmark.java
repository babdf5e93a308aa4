package dev.scemu.benchmarks.core;

import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What one count of an I/O costs: {@link IoMeter#issuedWrite} (per-thread rows, no atomic
 * instruction) beside what a count cost before the twelfth session, an operations
 * {@link LongAdder} and a bytes {@code LongAdder} (two locked read-modify-writes), in one run; a
 * host write passes about a dozen such counts. Run with {@code -t 1} and {@code -t 4}: the
 * meters are shared by the threads, as a unit's are by its writers.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar IoMeterBenchmark -t 4 -f 1 -wi 2 -i 3 -w 1s -r 1s
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class IoMeterBenchmark {

    private final IoMeter meter = new IoMeter("bench");
    private final LongAdder operations = new LongAdder();
    private final LongAdder bytes = new LongAdder();

    @Benchmark
    public void ioMeterCount() {
        meter.issuedWrite(IoCause.HOST, 4096);
    }

    @Benchmark
    public void longAdderPair() {
        operations.increment();
        bytes.add(4096);
    }
}
