#!/usr/bin/env bash
# Every JMH benchmark of the benchmarks module, one JMH run (one JVM fork) per suite, each result in
# bench/results/SUITE.json (+ SUITE.log with the JMH output and the write-amplification lines the
# benchmarks print), then the ratio tables (bench/results/all.md).
#
# Usage: bench/run-all.sh [--full] [--no-build] [SUITE ...] [-- extra JMH args]
#   SUITE: core, raid, snapshot (default: all three)
#   quick (default): -f 1 -wi 1 -i 2 -w 1 -r 1   (the shared machine is loaded: keep runs short)
#   --full:          -f 1 -wi 2 -i 5 -w 1 -r 2
set -euo pipefail
cd "$(dirname "$0")/.."

mode=quick
build=1
suites=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --full) mode=full ;;
    --quick) mode=quick ;;
    --no-build) build=0 ;;
    --) shift; extra=("$@"); break ;;
    core|raid|snapshot) suites+=("$1") ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ ${#suites[@]} -gt 0 ] || suites=(core raid snapshot)

if [ "$mode" = full ]; then
  jmh_args=(-f 1 -wi 2 -i 5 -w 1 -r 2)
else
  jmh_args=(-f 1 -wi 1 -i 2 -w 1 -r 1)
fi

regex_of() {
  case "$1" in
    core) echo 'dev.scemu.benchmarks.core.MediaThroughputBenchmark' ;;
    raid) echo 'dev.scemu.benchmarks.raid.RaidThroughputBenchmark' ;;
    snapshot) echo 'dev.scemu.benchmarks.snapshot.SnapshotWriteBenchmark' ;;
  esac
}

. bench/jvm-flags.sh
if [ "$build" = 1 ]; then
  ./mvnw -B -q -o -pl benchmarks -am package -DskipTests
fi
mkdir -p bench/results

jsons=()
for suite in "${suites[@]}"; do
  json="bench/results/$suite.json"
  echo "== $suite ($mode): java \$SCEMU_JVM_FLAGS -jar benchmarks/target/benchmarks.jar $(regex_of "$suite") ${jmh_args[*]} ${extra[*]:-} -rf json -rff $json" >&2
  java $SCEMU_JVM_FLAGS -jar benchmarks/target/benchmarks.jar "$(regex_of "$suite")" \
    "${jmh_args[@]}" ${extra[@]+"${extra[@]}"} -rf json -rff "$json" > "bench/results/$suite.log" 2>&1 \
    || { echo "$suite failed, see bench/results/$suite.log" >&2; tail -20 "bench/results/$suite.log" >&2; exit 1; }
  jsons+=("$json")
done

{
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (nproc $(nproc)); mode $mode: ${jmh_args[*]} ${extra[*]:-}"
  for suite in "${suites[@]}"; do
    python3 bench/jmh-ratios.py "bench/results/$suite.json" | { [ ${#suites[@]} -gt 1 ] && echo && echo "### $suite" && echo; cat; }
    wa=$(grep -E '^(RAID-5|Snapshot) WA' "bench/results/$suite.log" || true)
    if [ -n "$wa" ]; then
      echo
      echo '```'
      echo "$wa"
      echo '```'
    fi
  done
} | tee bench/results/all.md
