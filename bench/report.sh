#!/usr/bin/env bash
# One reproducible performance report: builds the benchmarks jar and the CLI (offline), runs the JMH
# stack suite (fixed seeds, bounded time), the write-amplification and latency harnesses, the scale
# ratios in process and over NBD (bench/nbd-scale.sh: fio against `scemu serve`), scemu over
# NBD (the off-heap bench server, and `scemu serve` on its default mapped-file disks through
# bench/nbd-fio.sh) against nbdkit memory and qemu-nbd (qcow2 with one internal snapshot) with fio's
# nbd engine, issue #21's figures against native tools (parity XOR and full-stripe writes against C,
# the diff compare against memcmp, bench/backup.sh and bench/backup-sparse.sh against zstd), then renders
# bench/results/REPORT.md and the PNG charts from this run's JSON (dev.scemu.benchmarks.report).
#
# Usage: bench/report.sh [--quick|--full] [--no-build] [--bench-dir DIR]
#   --quick (default, < 10 min on 2 vCPUs): JMH -f 1 -wi 2 -i 2 -w 300ms -r 300ms, latency 2 s per
#           phase, fio 7 s per job, same-run ratios (threads, scale) of 11 and 5 rounds, scale over
#           NBD 3 rounds of 2 s slices
#   --full: JMH -f 1 -wi 2 -i 5 -w 1s -r 1s, latency 10 s per phase, fio 30 s per job, ratios of
#           15 and 10 rounds, scale over NBD 5 rounds of 10 s slices
#   --bench-dir DIR: where the scale ratios create their sparse 256 GiB member files (a few hundred MB
#           to a few GB on disk; deleted after each stack); default $SCEMU_BENCH_DIR, else /var/tmp. Not tmpfs.
# Needs: a JDK 17+ on PATH, python3 is NOT needed; fio (with the nbd engine), nbdkit, qemu-nbd and
# qemu-img are optional: a missing peer is skipped with a note in the report.
# REPORT.md, the charts and this run's raw JSON (and meta.properties: git SHA, dirty flag, machine)
# are committed together, so every figure can be traced to its data and commit; logs stay local.
# Targets: bench/targets.properties (in the repository; the renderer reads it).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=quick
build=1
for arg in "$@"; do
  case "$arg" in
    --quick) mode=quick ;;
    --full) mode=full ;;
    --no-build) build=0 ;;
    --bench-dir) want_bench_dir=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *)
      if [ "${want_bench_dir:-0}" = 1 ]; then
        bench_dir=$arg
        want_bench_dir=0
      else
        echo "unknown argument: $arg (see --help)" >&2; exit 2
      fi ;;
  esac
done
bench_dir=${bench_dir:-${SCEMU_BENCH_DIR:-/var/tmp}}
command="bench/report.sh $*"
command="${command% }"

if [ "$mode" = full ]; then
  jmh_args=(-f 1 -wi 2 -i 5 -w 1s -r 1s)
  latency_seconds=10
  fio_seconds=30
  concurrency_args=(15 500)
  scale_args=(--rounds 10 --slice-ms 1000)
  nbd_scale_args=(--full)
  ratio_rounds=40
  backup_runs=5
  sparse_runs=3
else
  jmh_args=(-f 1 -wi 2 -i 2 -w 300ms -r 300ms)
  latency_seconds=2
  fio_seconds=7
  concurrency_args=(11 300)
  scale_args=(--rounds 5 --slice-ms 300)
  # 2 s slices, not nbd-scale.sh's own --quick 5 s: deleting the member files after each stack costs
  # about 0.15-0.3 ms per spread write on this VM's ext4 (one extent each, online discard), 1-2 min a
  # stack at 5 s slices (docs/benchmarks.md, "Scale over NBD, as the issue words it")
  nbd_scale_args=(--quick --seconds 2)
  ratio_rounds=20
  backup_runs=5
  sparse_runs=2
fi

out=bench/results
rm -rf "$out/nbd" "$out/nbd-scale" "$out"/*.json "$out"/*.png "$out/REPORT.md" "$out"/*.log 2>/dev/null || true
mkdir -p "$out/nbd"
start_epoch=$(date +%s)
# the commit measured, and whether the working tree differed from it (then the figures are of
# uncommitted code: the report says so)
git_sha=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ -z "$(git status --porcelain --untracked-files=no -- . ':!bench/results' ':!README.md' 2>/dev/null)" ]; then
  git_dirty=false
else
  git_dirty=true
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log() { echo "[report $(( $(date +%s) - start_epoch ))s] $*" >&2; }

. bench/jvm-flags.sh
. bench/nbd-jobs.sh
if [ "$build" = 1 ]; then
  log "build: ./mvnw -B -o -q -pl benchmarks,cli -am package -DskipTests"
  ./mvnw -B -o -q -pl benchmarks,cli -am package -DskipTests
fi
JAR=benchmarks/target/benchmarks.jar
JAVA_RUN=(java $SCEMU_JVM_FLAGS -Djava.awt.headless=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn)

# 1. JMH: layer stacks against memory copies. The JMH lock is per machine and other engineers run
# JMH at the same time on this shared machine: ignore it (the load average is in the report).
log "JMH StackThroughputBenchmark ${jmh_args[*]}"
"${JAVA_RUN[@]}" -Djmh.ignoreLock=true -jar "$JAR" 'dev.scemu.benchmarks.stack.StackThroughputBenchmark' \
  "${jmh_args[@]}" -rf json -rff "$out/stack.json" > "$out/stack.log" 2>&1 \
  || { log "JMH failed, see $out/stack.log"; tail -20 "$out/stack.log" >&2; }

# 2. write amplification by cause
log "WriteAmplificationHarness"
"${JAVA_RUN[@]}" -cp "$JAR" dev.scemu.benchmarks.report.WriteAmplificationHarness "$out/wa.json" \
  > "$out/wa.log" 2>&1 || { log "WA harness failed, see $out/wa.log"; tail -20 "$out/wa.log" >&2; }

# 3. host write latency (baseline, snapshot, rebuild, firmware updates)
log "HostWriteLatencyHarness ${latency_seconds}s per phase, 20..50 firmware updates"
"${JAVA_RUN[@]}" -cp "$JAR" dev.scemu.benchmarks.latency.HostWriteLatencyHarness "$out/latency.json" \
  "$latency_seconds" 50 20 > "$out/latency.log" 2>&1 \
  || { log "latency harness failed, see $out/latency.log"; tail -20 "$out/latency.log" >&2; }

# 3b. RAID-5 4 KiB random writes, 4 threads against 1: same-run ratio (interleaved slices in one JVM)
log "ConcurrencyRatio ${concurrency_args[*]}"
"${JAVA_RUN[@]}" -cp "$JAR" dev.scemu.benchmarks.raid.ConcurrencyRatio "${concurrency_args[@]}" "$out/concurrency.json" \
  > "$out/concurrency.log" 2>&1 || { log "ConcurrencyRatio failed, see $out/concurrency.log"; tail -20 "$out/concurrency.log" >&2; }

# 3c. scale: writes spread over 4 sparse 256 GiB mapped-file members against writes confined to 100 MiB,
# same-run ratio per stack; the member files live in a fresh directory under $bench_dir, removed on exit
mkdir -p "$bench_dir"
scale_work=$(mktemp -d "$bench_dir/scemu-scale.XXXXXX")
trap 'rm -rf "$scale_work"' EXIT
log "ScaleRatio ${scale_args[*]} in $scale_work ($(stat -f -c %T "$scale_work"))"
"${JAVA_RUN[@]}" -cp "$JAR" dev.scemu.benchmarks.raid.ScaleRatio "$out/scale.json" --dir "$scale_work" "${scale_args[@]}" \
  > "$out/scale.log" 2>&1 || { log "ScaleRatio failed, see $out/scale.log"; tail -20 "$out/scale.log" >&2; }
rm -rf "$scale_work"

# 3d. the same target as #20 words it: fio 4 KiB random writes at QD16 over NBD against `scemu serve` on
# 4 sparse 256 GiB mapped-file members, spread against confined, same-round ratios (needs fio's nbd engine)
if command -v fio >/dev/null && fio --enghelp=nbd >/dev/null 2>&1; then
  log "scale over NBD: bench/nbd-scale.sh ${nbd_scale_args[*]} in $bench_dir"
  bench/nbd-scale.sh "${nbd_scale_args[@]}" --no-build --bench-dir "$bench_dir" --out "$out/nbd-scale" --json "$out/nbd-scale.json" \
    > "$out/nbd-scale.log" 2>&1 || { log "bench/nbd-scale.sh failed, see $out/nbd-scale.log"; tail -20 "$out/nbd-scale.log" >&2; }
else
  log "scale over NBD skipped: fio with the nbd engine is not installed"
fi

# 4. NBD: scemu, nbdkit memory, qemu-nbd qcow2 with one internal snapshot; same fio jobs, same duration.
SIZE_MIB=512
servers=scemu,serve,nbdkit,qcow2
props="$out/nbd/servers.properties"
{
  echo "servers=$servers"
  echo "scemu.label=scemu"
  echo "serve.label=scemu serve (mapped)"
  echo "nbdkit.label=nbdkit memory"
  echo "qcow2.label=qemu-nbd qcow2+snapshot"
} > "$props"
have_fio=0
if command -v fio >/dev/null && fio --enghelp=nbd >/dev/null 2>&1; then
  have_fio=1
  fio_version=$(fio --version)
  echo "setup=Client: \`$fio_version --ioengine=nbd\`, one job, time-based ${fio_seconds} s per job, \`size=${SIZE_MIB}m\` (the first ${SIZE_MIB} MiB of each export), jobs in this order on each server: 4 KiB randwrite QD1, randwrite QD16, 1 MiB seq write QD8, 4 KiB randread QD1, QD16. Every export holds data before the first job; scemu and qcow2 have a snapshot taken after that prefill, so the first writes copy shared blocks/clusters. Client and server share the 2 vCPUs. TCP on 127.0.0.1 only." >> "$props"
else
  fio_version="not installed (or without the nbd engine)"
  echo "setup=fio with the nbd engine is not installed: no NBD comparison." >> "$props"
fi

if [ "$have_fio" = 1 ]; then
  # scemu: RAID-5 of 4 x 384 MiB off-heap members, snapshot store 576 MiB, first 512 MiB prefilled, one snapshot
  log "NBD scemu (NbdBenchServer)"
  coproc SCEMU { exec "${JAVA_RUN[@]}" -cp "$JAR" dev.scemu.benchmarks.nbd.NbdBenchServer 384 576 "$SIZE_MIB" 2> "$out/nbd/scemu-server.log"; }
  scemu_pid=$SCEMU_PID
  ready=""
  while read -r -t 180 line <&"${SCEMU[0]}"; do # skip anything the JVM prints before READY
    if [[ "$line" == READY* ]]; then ready=$line; break; fi
  done
  if [[ "$ready" == READY* ]]; then
    uri=$(echo "$ready" | cut -d' ' -f2)
    echo "scemu.ran=true" >> "$props"
    echo "scemu.note=\`dev.scemu.benchmarks.nbd.NbdBenchServer\`: StorageControlUnit, RAID-5 of 4 x 384 MiB off-heap members, snapshot store 576 MiB, volume $(( $(echo "$ready" | cut -d' ' -f3) >> 20 )) MiB, first ${SIZE_MIB} MiB prefilled (seeded), one snapshot, the nbd module's NbdServer (default request threads per connection) on \`$uri\`." >> "$props"
    nbd_run_jobs scemu "$uri" "$out/nbd" "$fio_seconds" "$SIZE_MIB"
  else
    echo "scemu.note=the scemu server did not start (see nbd/scemu-server.log)" >> "$props"
  fi
  eval "exec ${SCEMU[1]}>&-" 2>/dev/null || true
  wait "$scemu_pid" 2>/dev/null || true

  # scemu serve on its default mapped-file disks (what users run): RAID-5 of 4 x 384 MiB, prefilled, one live snapshot
  log "NBD scemu serve (bench/nbd-fio.sh --servers serve)"
  rm -f "$out/nbd/serve.properties"
  bench/nbd-fio.sh --no-build --servers serve --seconds "$fio_seconds" --out "$out/nbd" > "$out/nbd/serve-run.log" 2>&1 \
    || log "bench/nbd-fio.sh failed (see $out/nbd/serve-run.log)"
  if [ -f "$out/nbd/serve.properties" ]; then
    echo "serve.ran=true" >> "$props"
    cat "$out/nbd/serve.properties" >> "$props"
  else
    echo "serve.note=scemu serve did not start (see nbd/serve-run.log)" >> "$props"
  fi

  if command -v nbdkit >/dev/null; then
    port=$(nbd_free_port 20809)
    log "NBD nbdkit memory on $port"
    nbdkit --exit-with-parent -f -i 127.0.0.1 -p "$port" memory "${SIZE_MIB}M" > "$out/nbd/nbdkit-server.log" 2>&1 &
    nbdkit_pid=$!
    if nbd_wait_port "$port" 20; then
      # prefill (untimed), so reads return written data as on the other servers
      fio --name=prefill --ioengine=nbd --uri="nbd://127.0.0.1:$port/" --rw=write --bs=1m --iodepth=8 \
        --size="${SIZE_MIB}m" --output="$out/nbd/nbdkit-prefill.log" > /dev/null 2>&1 || true
      echo "nbdkit.ran=true" >> "$props"
      echo "nbdkit.note=\`$(nbdkit --version) memory ${SIZE_MIB}M\` on 127.0.0.1:$port, prefilled by one untimed fio 1 MiB sequential pass." >> "$props"
      nbd_run_jobs nbdkit "nbd://127.0.0.1:$port/" "$out/nbd" "$fio_seconds" "$SIZE_MIB"
    else
      echo "nbdkit.note=nbdkit did not start (see nbd/nbdkit-server.log)" >> "$props"
    fi
    kill "$nbdkit_pid" 2>/dev/null || true
    wait "$nbdkit_pid" 2>/dev/null || true
  else
    echo "nbdkit.note=not installed: skipped." >> "$props"
  fi

  if command -v qemu-nbd >/dev/null && command -v qemu-img >/dev/null; then
    port=$(nbd_free_port 20809)
    img="$out/nbd/peer.qcow2"
    log "NBD qemu-nbd qcow2 + snapshot on $port"
    qemu-img create -q -f qcow2 "$img" "${SIZE_MIB}M"
    if command -v qemu-io >/dev/null; then
      qemu-io -f qcow2 -c "write -P 0x5a 0 ${SIZE_MIB}M" "$img" > /dev/null
    fi
    qemu-img snapshot -c bench "$img"
    qemu-nbd --fork --persistent -f qcow2 -b 127.0.0.1 -p "$port" --pid-file="$out/nbd/qemu-nbd.pid" "$img" \
      > "$out/nbd/qcow2-server.log" 2>&1 || true
    if nbd_wait_port "$port" 20; then
      echo "qcow2.ran=true" >> "$props"
      echo "qcow2.note=\`$(qemu-nbd --version | head -1)\` on 127.0.0.1:$port (no cache options: defaults), qcow2 ${SIZE_MIB} MiB (64 KiB clusters) fully written by qemu-io, then \`qemu-img snapshot -c bench\`." >> "$props"
      nbd_run_jobs qcow2 "nbd://127.0.0.1:$port/" "$out/nbd" "$fio_seconds" "$SIZE_MIB"
    else
      echo "qcow2.note=qemu-nbd did not start (see nbd/qcow2-server.log)" >> "$props"
    fi
    if [ -f "$out/nbd/qemu-nbd.pid" ]; then
      kill "$(cat "$out/nbd/qemu-nbd.pid")" 2>/dev/null || true
      sleep 0.5
    fi
    rm -f "$img"
  else
    echo "qcow2.note=qemu-nbd/qemu-img not installed: skipped." >> "$props"
  fi
fi

# 4b. issue #21 against native tools: the parity XOR kernel in use and the RAID-5 full-stripe write
# (against the C loop of bench/c/xor.c and a memory copy), the diff compare (against memcmp), backup and
# restore beside zstd (bench/backup.sh: whole processes and the engine) and the sparse 576 GiB backup
# (bench/backup-sparse.sh); section 8 of the report judges them
clib=""
if command -v gcc >/dev/null; then
  clib=$(mktemp --suffix=.so)
  bench/c/run-xor.sh --lib "$clib" || { log "bench/c/run-xor.sh --lib failed: no C reference"; clib=""; }
fi
log "InterleavedRatios xor raid, CompareRatios (${ratio_rounds} rounds of 50 ms)"
"${JAVA_RUN[@]}" -cp "$JAR" dev.scemu.benchmarks.raid.InterleavedRatios ${clib:+--c-lib "$clib"} \
  --rounds "$ratio_rounds" --slice-ms 50 --json "$out/parity.json" xor raid > "$out/parity.log" 2>&1 \
  || { log "InterleavedRatios failed, see $out/parity.log"; tail -20 "$out/parity.log" >&2; }
"${JAVA_RUN[@]}" ${clib:+-Dscemu.bench.clib="$clib"} -cp "$JAR" dev.scemu.benchmarks.snapshot.CompareRatios \
  --json "$out/compare.json" "$ratio_rounds" 50 4096 16384 65536 > "$out/compare.log" 2>&1 \
  || { log "CompareRatios failed, see $out/compare.log"; tail -20 "$out/compare.log" >&2; }
[ -n "$clib" ] && rm -f "$clib"
log "backup beside zstd: bench/backup.sh --runs $backup_runs"
bench/backup.sh --runs "$backup_runs" --no-build --out "$out" > "$out/backup.log" 2>&1 \
  || { log "bench/backup.sh failed, see $out/backup.log"; tail -5 "$out/backup.log" >&2; }
log "sparse backup: bench/backup-sparse.sh --runs $sparse_runs in $bench_dir"
bench/backup-sparse.sh --runs "$sparse_runs" --bench-dir "$bench_dir" --out "$out" > "$out/backup-sparse.log" 2>&1 \
  || { log "bench/backup-sparse.sh failed, see $out/backup-sparse.log"; tail -5 "$out/backup-sparse.log" >&2; }

# 5. render
end_epoch=$(date +%s)
mem_total=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
jdk=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.runtime.version = //p;s/^ *java.vm.name = //p' | paste -sd' ' -)
{
  echo "date.start=$date_start"
  echo "date.end=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "command=$command"
  echo "git.sha=$git_sha"
  echo "git.dirty=$git_dirty"
  echo "mode=$mode"
  echo "nproc=$(nproc)"
  echo "cpu=$cpu_model"
  echo "memory=$mem_total"
  echo "jdk=$jdk"
  echo "load.start=$load_start"
  echo "load.end=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "jmh.args=${jmh_args[*]} -Djmh.ignoreLock=true"
  echo "fio=$fio_version, ${fio_seconds} s per job"
  echo "xor.kernel=$("${JAVA_RUN[@]}" -cp "$JAR" dev.scemu.benchmarks.raid.XorKernelName 2>/dev/null || echo '?')"
  echo "seconds=$(( end_epoch - start_epoch ))"
} > "$out/meta.properties"
log "render"
"${JAVA_RUN[@]}" -cp "$JAR" dev.scemu.benchmarks.report.ReportRenderer "$out" bench/targets.properties

# 5b. NBD block status and TLS figures (nbdcopy against qemu-nbd, nbds:// against nbd://), appended
# to REPORT.md; skipped with a note by the script itself when a client tool is missing
log "nbd block status and TLS: bench/nbd-sparse.sh"
if RUNS=3 bench/nbd-sparse.sh "$out/nbd-sparse" > "$out/nbd-sparse.log" 2>&1; then
  { echo; cat "$out/nbd-sparse/nbd-sparse.md"; } >> "$out/REPORT.md"
else
  log "bench/nbd-sparse.sh failed (see $out/nbd-sparse.log)"
fi

# 6. the README's performance block (between its two markers) is this run's target summary
splice_readme() {
  local begin='<!-- bench/report.sh: begin -->' end='<!-- bench/report.sh: end -->'
  if grep -qF "$begin" README.md && grep -qF "$end" README.md; then
    awk -v begin="$begin" -v end="$end" -v summary="$out/README-summary.md" '
      $0 == begin { print; while ((getline line < summary) > 0) print line; skipping = 1; next }
      $0 == end { skipping = 0 }
      !skipping { print }' README.md > README.md.tmp && mv README.md.tmp README.md
    log "README.md: performance block updated from $out/README-summary.md"
  fi
}
splice_readme
log "done in $(( $(date +%s) - start_epoch )) s: $out/REPORT.md"
