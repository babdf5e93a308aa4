#!/usr/bin/env bash
# Media throughput of every backend beside a plain memory copy, in one JMH run.
# Usage: bench/run-core.sh [extra JMH args]   (default: 2 warmups, 3 measurements of 1 s, 1 fork)
# Writes bench/results/core.json and prints a ratio table (bench/results/core.md).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/jvm-flags.sh
./mvnw -B -q -pl benchmarks -am package -DskipTests
mkdir -p bench/results
java $SCEMU_JVM_FLAGS -jar benchmarks/target/benchmarks.jar 'dev.scemu.benchmarks.core.MediaThroughputBenchmark' \
  -rf json -rff bench/results/core.json "$@"
python3 bench/jmh-ratios.py bench/results/core.json | tee bench/results/core.md
