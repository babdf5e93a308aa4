/**
 * JMH benchmarks of scemu. Packages mirror the modules ({@code core}, {@code raid}, ...). Every
 * throughput benchmark is measured beside a plain memory copy of the same size in the same run (the
 * ceiling), so reports quote ratios that survive this machine's run-to-run noise.
 *
 * <p>Run: {@code ./mvnw -B -q -pl benchmarks -am package -DskipTests && java $FLAGS -jar
 * benchmarks/target/benchmarks.jar} (FLAGS: the Chronicle flags in the README), or
 * {@code bench/run-core.sh}.
 */
package dev.scemu.benchmarks;
