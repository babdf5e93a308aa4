#!/usr/bin/env bash
# Issue #20's "Scale" target as the issue words it: on 4 sparse 256 GiB mapped-file members, fio
# 4 KiB random writes at QD16 over NBD against `scemu serve`, spread over the whole export, against
# the same writes confined to its first 100 MiB, measured in the same run, for RAID-5, RAID-5 with
# one snapshot (taken live with `scemu snapshot create` while served) and RAID-0.
#
# Per stack: `scemu create DIR --level L --disks 4 --disk-size 256G` (default backend: sparse mapped
# files; default snapshot store, a quarter of the array) in a fresh directory under --bench-dir,
# `scemu serve DIR --port P`, one untimed 1 MiB sequential pass over the first 100 MiB (so that every
# confined slice, the first one too, rewrites written blocks), then the touch: one 4 KiB write in every
# 64 MiB of the export (fio --rw=write:64m, timed and recorded, not part of a slice), so that the
# RAID-5 write-intent bitmap's bits are set before the slices, as on a volume in use (md and scemu set
# a bit with one FUA bitmap write at the first write to its region and clear it only after the region
# was idle; without the touch the first round's spread slice pays for setting them: --no-touch
# measures that); then for the snapshot stack `scemu snapshot create DIR base`, then ROUNDS rounds,
# each a time-based fio slice of
#   spread:   --rw=randwrite --bs=4k --iodepth=16 over the whole export, --norandommap
#             --random_generator=tausworthe64, a new --randseed every round (no round rewrites
#             another's blocks; fio 3.33 ignores --randseed unless --randrepeat=0, which every slice
#             passes: with its default randrepeat=1 each round repeated the first one's offsets),
#             at most --number_ios=CAP writes (the free-space budget below);
#   confined: the same with --size=100m (the first 100 MiB, fio's random map: every block once per pass);
#   fresh (snapshot stack only, a diagnostic the report shows beside the judged ratio): the same in a
#             100 MiB region never written before, a new one every round (at (round + 1) x 16 GiB), so
#             that its writes are first writes since the snapshot to never-written blocks as the spread
#             ones are, and only where they land differs; at most 25,600 writes (fio's random map: each
#             of the region's blocks once, so none is a rewrite; the slice ends early when it is done).
# The figure is the median over rounds of spread IOPS / confined IOPS of the same round (target:
# scale.nbd.spreadVsConfined.min of bench/targets.properties). Then the server is killed (SIGKILL: the
# unit is deleted next, so its dirty pages need no writeback; --stop-term stops it with SIGTERM instead,
# whose shutdown flushes the members, and records how long that takes), the unit deleted and the file
# system synced (`sync -f`: the freed extents' journal commits and discards end before the next stack).
#
# Free space: spread writes land in holes of the member files, and each allocates file-system blocks
# (data, RAID-5 parity, snapshot metadata). Before every spread slice the budget is
# (free - --min-free) / 16 KiB writes, passed to fio as --number_ios; below 1,000 writes, or when the
# free space after a slice is under --min-free, the stack stops and the remaining ones are skipped
# (recorded in the result, never silent). Member files' allocated bytes (du) before and after the
# rounds and the free space are recorded per stack.
#
# Usage: bench/nbd-scale.sh [--quick|--full] [--rounds N] [--seconds S] [--stacks RAID5,RAID5_SNAPSHOT,RAID0]
#          [--bench-dir DIR] [--out DIR] [--json FILE] [--min-free SIZE] [--no-touch] [--stop-term] [--jfr]
#          [--no-build]
#   --quick (default): 3 rounds x 5 s per slice; --full: 5 rounds x 10 s
#   --bench-dir  where the units are created (default $SCEMU_BENCH_DIR, else /var/tmp); tmpfs refused
#   --out        per-round fio JSON, properties and logs (default bench/results/nbd-scale)
#   --json       the result the report reads (default OUT/nbd-scale.json)
#   --min-free   free space to leave on --bench-dir's file system (default 10G; K, M, G suffixes)
#   --jfr        after the rounds, one more round (not counted) with the server recorded by JFR (jcmd,
#                settings=profile) during its spread and its confined slice: OUT/STACK-spread.jfr,
#                OUT/STACK-confined.jfr
# env SCEMU_JAR: another CLI build for A/B runs (default cli/target/scemu.jar); SCEMU_JAVA_OPTS: JVM
# flags added to `scemu serve` only (e.g. -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints).
# Needs fio with the nbd engine (exit 3 without it); the JSON is assembled by
# dev.scemu.benchmarks.report.NbdScaleCollector from the benchmarks jar (built unless --no-build).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
seconds=5
stacks=RAID5,RAID5_SNAPSHOT,RAID0
bench_dir=${SCEMU_BENCH_DIR:-/var/tmp}
out=bench/results/nbd-scale
json=""
min_free=10G
jfr=0
build=1
touch=1
stop_signal=KILL
mode=quick
command="bench/nbd-scale.sh $*"
command="${command% }"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick; rounds=3; seconds=5; shift ;;
    --full) mode=full; rounds=5; seconds=10; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --stacks) stacks=$2; shift 2 ;;
    --bench-dir) bench_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --min-free) min_free=$2; shift 2 ;;
    --jfr) jfr=1; shift ;;
    --no-touch) touch=0; shift ;;
    --stop-term) stop_signal=TERM; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,55p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
json=${json:-$out/nbd-scale.json}
to_bytes() { # 10G -> bytes
  local v=${1^^}
  case "$v" in
    *K) echo $(( ${v%K} << 10 )) ;;
    *M) echo $(( ${v%M} << 20 )) ;;
    *G) echo $(( ${v%G} << 30 )) ;;
    *[0-9]) echo "$v" ;;
    *) echo "--min-free: not a size: $1 (e.g. 10G)" >&2; exit 2 ;;
  esac
}
min_free_bytes=$(to_bytes "$min_free") || exit 2
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds must be a positive integer: $rounds" >&2; exit 2; }
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "--seconds must be a positive integer: $seconds" >&2; exit 2; }
for s in ${stacks//,/ }; do
  case "$s" in RAID5|RAID5_SNAPSHOT|RAID0) ;; *) echo "unknown stack $s (RAID5, RAID5_SNAPSHOT, RAID0)" >&2; exit 2 ;; esac
done

start_epoch=$(date +%s)
log() { echo "[nbd-scale $(( $(date +%s) - start_epoch ))s] $*" >&2; }
if ! command -v fio >/dev/null || ! fio --enghelp=nbd >/dev/null 2>&1; then
  echo "fio with the nbd engine is not installed (Debian: fio 3.x built with libnbd)" >&2
  exit 3
fi
mkdir -p "$bench_dir"
fs_type=$(stat -f -c %T "$bench_dir")
case "$fs_type" in
  tmpfs|ramfs) echo "--bench-dir $bench_dir is on $fs_type: the member files' pages would live in memory; the measurement is of a disk's file system" >&2; exit 2 ;;
esac
. bench/jvm-flags.sh
. bench/nbd-jobs.sh
JAR=${SCEMU_JAR:-cli/target/scemu.jar} # SCEMU_JAR: another build, for A/B runs
BENCH_JAR=benchmarks/target/benchmarks.jar
if [ "$build" = 1 ]; then
  log "build: ./mvnw -B -o -q -pl benchmarks,cli -am package -DskipTests"
  ./mvnw -B -o -q -pl benchmarks,cli -am package -DskipTests
fi
[ -f "$JAR" ] || { echo "no CLI jar at $JAR (build it, or set SCEMU_JAR)" >&2; exit 2; }
[ -f "$BENCH_JAR" ] || { echo "no benchmarks jar at $BENCH_JAR (run without --no-build)" >&2; exit 2; }
SCEMU=(java $SCEMU_JVM_FLAGS -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -jar "$JAR")
SERVE=(java $SCEMU_JVM_FLAGS -Dorg.slf4j.simpleLogger.defaultLogLevel=warn ${SCEMU_JAVA_OPTS:-} -jar "$JAR")

# --out is emptied first: only a directory of an earlier run (or an empty or new one), never any other
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -f "$out/run.properties" ]; then
  echo "--out $out holds files of something else than an earlier bench/nbd-scale.sh run: not emptying it" >&2
  exit 2
fi
rm -rf "$out"
mkdir -p "$out"
out_abs=$(cd "$out" && pwd)
work=$(mktemp -d "$bench_dir/scemu-nbd-scale.XXXXXX")
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
    kill -KILL "$serve_pid" 2>/dev/null || true # on an interrupted run only: the unit is deleted anyway
    wait "$serve_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_bytes() { df -B1 --output=avail "$work" | tail -1 | tr -d ' '; }
allocated_bytes() { du -B1 -c "$1"/disk*.img | tail -1 | cut -f1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
iops_of() { # fio JSON -> write IOPS, for the log only (the collector reads the files)
  sed -n 's/^ *"iops" : \([0-9.]*\),$/\1/p' "$1" 2>/dev/null | sed -n 2p | cut -d. -f1
}

run_props="$out/run.properties"
{
  echo "command=$command"
  echo "mode=$mode"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "fio=$(fio --version)"
  echo "scemu=$("${SCEMU[@]}" --version 2>/dev/null | head -1)"
  echo "jar=$JAR"
  echo "kernel=$(uname -r)"
  echo "nproc=$(nproc)"
  echo "directory=$work"
  echo "fileSystem=$(df --output=fstype "$work" | tail -1 | tr -d ' ') ($fs_type), mount options $(awk -v m="$(df --output=target "$work" | tail -1)" '$2 == m { print $4 }' /proc/mounts | head -1)"
  echo "rounds=$rounds"
  echo "seconds=$seconds"
  echo "iodepth=16"
  echo "blockBytes=4096"
  echo "confinedBytes=$(( 100 << 20 ))"
  echo "minFreeBytes=$min_free_bytes"
  echo "stacks=$stacks"
  echo "touch=$touch"
  echo "stopSignal=$stop_signal"
  echo "loadStart=$(load)"
  echo "freeBytesStart=$(free_bytes)"
} > "$run_props"

fio_slice() { # name uri file seed extra-args...: one time-based 4 KiB randwrite QD16 slice
  local name=$1 uri=$2 file=$3 seed=$4
  shift 4
  fio --name="$name" --ioengine=nbd --uri="$uri" --rw=randwrite --bs=4k --iodepth=16 \
    --time_based --runtime="$seconds" --randrepeat=0 --randseed="$seed" "$@" \
    --output-format=json --output="$file" > "${file%.json}.log" 2>&1 \
    || log "fio $name failed (see ${file%.json}.log)"
}

jfr_start() { # name
  [ "$jfr" = 1 ] || return 0
  # jcmd reports a failed command on stdout with exit status 0: the log keeps its output
  jcmd "$serve_pid" JFR.start name="$1" settings=profile filename="$out_abs/$1.jfr" >> "$out/jcmd.log" 2>&1 \
    || log "jcmd JFR.start $1 failed (see jcmd.log)"
}
jfr_stop() { # name
  [ "$jfr" = 1 ] || return 0
  jcmd "$serve_pid" JFR.stop name="$1" >> "$out/jcmd.log" 2>&1 || log "jcmd JFR.stop $1 failed (see jcmd.log)"
  [ -s "$out/$1.jfr" ] || log "no JFR recording $out/$1.jfr (see jcmd.log)"
}

out_of_space=""
for stack in ${stacks//,/ }; do
  props="$out/$stack.properties"
  case "$stack" in
    RAID5) level=5; label="RAID-5"; snapshot=false ;;
    RAID5_SNAPSHOT) level=5; label="RAID-5 + one snapshot"; snapshot=true ;;
    RAID0) level=0; label="RAID-0"; snapshot=false ;;
  esac
  {
    echo "label=$label"
    echo "level=$level"
    echo "snapshot=$snapshot"
  } > "$props"
  if [ -n "$out_of_space" ]; then
    echo "stopped=skipped: $out_of_space" >> "$props"
    log "$stack skipped: $out_of_space"
    continue
  fi
  unit="$work/$stack"
  create_args=(create "$unit" --level "$level" --disks 4 --disk-size 256G)
  echo "create=scemu create DIR --level $level --disks 4 --disk-size 256G" >> "$props"
  log "$stack: scemu ${create_args[*]}"
  t0=$(now)
  if ! "${SCEMU[@]}" "${create_args[@]}" > "$out/$stack-create.log" 2>&1; then
    echo "stopped=scemu create failed (see $stack-create.log)" >> "$props"
    log "$stack: create failed"; rm -rf "$unit"; continue
  fi
  echo "createSeconds=$(secs "$t0" "$(now)")" >> "$props"
  port=$(nbd_free_port 21009)
  "${SERVE[@]}" serve "$unit" --port "$port" > "$out/$stack-serve.log" 2>&1 &
  serve_pid=$!
  if ! nbd_wait_port "$port" 60; then
    echo "stopped=scemu serve did not start (see $stack-serve.log)" >> "$props"
    log "$stack: serve did not start"; kill -KILL "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true
    serve_pid=""; rm -rf "$unit"; continue
  fi
  for _ in $(seq 1 100); do grep -q '^serving' "$out/$stack-serve.log" && break; sleep 0.3; done # control socket up
  uri="nbd://127.0.0.1:$port/volume"
  volume_bytes=""
  if command -v nbdinfo >/dev/null; then
    volume_bytes=$(nbdinfo --size "$uri")
    echo "volumeBytes=$volume_bytes" >> "$props"
  fi
  fio --name=prefill --ioengine=nbd --uri="$uri" --rw=write --bs=1m --iodepth=8 --size=100m \
    --output="$out/$stack-prefill.log" > /dev/null 2>&1 || log "$stack: prefill failed (see $stack-prefill.log)"
  if [ "$touch" = 1 ] && [ -n "$volume_bytes" ]; then
    # one pass: fio's sequential write with a skip wraps at the end and goes on until `size` bytes are
    # written, so the pass is bounded by its number of writes (a stride of 64 MiB + 4 KiB)
    t0=$(now)
    fio --name=touch --ioengine=nbd --uri="$uri" --rw=write:64m --bs=4k --iodepth=16 \
      --number_ios=$(( (volume_bytes + 67112959) / 67112960 )) \
      --output="$out/$stack-touch.log" > /dev/null 2>&1 || log "$stack: touch failed (see $stack-touch.log)"
    echo "touchSeconds=$(secs "$t0" "$(now)")" >> "$props"
    log "$stack: touched every 64 MiB in $(secs "$t0" "$(now)") s"
  elif [ "$touch" = 1 ]; then
    log "$stack: no touch (nbdinfo is not installed: the export's size is unknown)"
  fi
  if [ "$snapshot" = true ]; then
    if ! "${SCEMU[@]}" snapshot create "$unit" base > "$out/$stack-snapshot.log" 2>&1; then
      echo "stopped=scemu snapshot create failed (see $stack-snapshot.log)" >> "$props"
      log "$stack: snapshot create failed"
    fi
  fi
  echo "allocatedBytesBefore=$(allocated_bytes "$unit")" >> "$props"
  free_before=$(free_bytes)
  echo "freeBytesBefore=$free_before" >> "$props"
  free_min=$free_before
  if ! grep -q '^stopped=' "$props"; then
    for r in $(seq 1 "$rounds"); do
      free=$(free_bytes)
      cap=$(( (free - min_free_bytes) / 16384 ))
      if [ "$cap" -lt 1000 ]; then
        out_of_space="free space $free bytes before round $r of $stack, margin $min_free_bytes"
        echo "stopped=$out_of_space" >> "$props"
        log "$stack: $out_of_space: stopping"
        break
      fi
      echo "round.$r.load=$(load)" >> "$props"
      echo "round.$r.spreadIosCap=$cap" >> "$props"
      fio_slice spread "$uri" "$out/$stack-r$r-spread.json" $(( 1000 + r )) \
        --norandommap --random_generator=tausworthe64 --number_ios="$cap"
      fio_slice confined "$uri" "$out/$stack-r$r-confined.json" $(( 2000 + r )) --size=100m
      extra=""
      if [ "$snapshot" = true ]; then
        fio_slice fresh "$uri" "$out/$stack-r$r-fresh.json" $(( 3000 + r )) --offset=$(( (r + 1) * 16 ))g --size=100m \
          --number_ios=25600
        extra=", fresh $(iops_of "$out/$stack-r$r-fresh.json")"
      fi
      free=$(free_bytes)
      [ "$free" -lt "$free_min" ] && free_min=$free
      echo "round.$r.freeBytesAfter=$free" >> "$props"
      log "$stack round $r: spread $(iops_of "$out/$stack-r$r-spread.json"), confined $(iops_of "$out/$stack-r$r-confined.json")$extra IOPS; free $(( free >> 20 )) MiB, load $(load)"
      if [ "$free" -lt "$min_free_bytes" ]; then
        out_of_space="free space $free bytes after round $r of $stack, under the margin $min_free_bytes"
        echo "stopped=$out_of_space" >> "$props"
        log "$stack: $out_of_space: stopping"
        break
      fi
    done
  fi
  if [ "$jfr" = 1 ] && ! grep -q '^stopped=' "$props"; then
    # one more round, not counted (JFR's start costs the server CPU for a second or two): spread then
    # confined, each recorded on its own
    free=$(free_bytes)
    cap=$(( (free - min_free_bytes) / 16384 ))
    if [ "$cap" -ge 1000 ]; then
      jfr_start "$stack-spread"
      fio_slice spread "$uri" "$out/$stack-jfr-spread.json" 1999 --norandommap --random_generator=tausworthe64 \
        --number_ios="$cap"
      jfr_stop "$stack-spread"
      jfr_start "$stack-confined"
      fio_slice confined "$uri" "$out/$stack-jfr-confined.json" 2999 --size=100m
      jfr_stop "$stack-confined"
      log "$stack JFR round (not counted): spread $(iops_of "$out/$stack-jfr-spread.json"), confined $(iops_of "$out/$stack-jfr-confined.json") IOPS"
    fi
  fi
  echo "allocatedBytesAfter=$(allocated_bytes "$unit")" >> "$props"
  # the unit's I/O meters since serve started (host and member writes: what the rounds asked of the members)
  echo "meters=$("${SCEMU[@]}" status "$unit" 2>/dev/null | grep '^meters' | head -1)" >> "$props"
  echo "freeBytesMin=$free_min" >> "$props"
  # SIGTERM runs serve's shutdown hook (SIGINT is ignored by a script's background jobs): it closes the
  # unit, which flushes the members' dirty pages (the scattered blocks the spread writes left); SIGKILL
  # (the default) leaves them to be dropped with the files
  t0=$(now)
  kill -"$stop_signal" "$serve_pid" 2>/dev/null || true
  for _ in $(seq 1 1200); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$serve_pid" 2>/dev/null; then
    echo "stopNote=serve had not exited 300 s after SIGTERM: killed" >> "$props"
    kill -KILL "$serve_pid" 2>/dev/null || true
  fi
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
  echo "stopSeconds=$(secs "$t0" "$(now)")" >> "$props"
  echo "allocatedBytesAfterStop=$(allocated_bytes "$unit")" >> "$props"
  t0=$(now)
  rm -rf "$unit"
  echo "deleteSeconds=$(secs "$t0" "$(now)")" >> "$props"
  # syncfs: the freed extents' journal commits (and, on a file system mounted with discard, their
  # discards) finish here and not in the next stack's slices, where a member fdatasync would wait for them
  t0=$(now)
  sync -f "$work" 2>/dev/null || sync
  echo "settleSeconds=$(secs "$t0" "$(now)")" >> "$props"
  echo "freeBytesAfter=$(free_bytes)" >> "$props"
  log "$stack: stopped and deleted"
done
{
  echo "loadEnd=$(load)"
  echo "freeBytesEnd=$(free_bytes)"
  echo "seconds.total=$(( $(date +%s) - start_epoch ))"
} >> "$run_props"
java -cp "$BENCH_JAR" dev.scemu.benchmarks.report.NbdScaleCollector "$out" "$json" | tee "$out/summary.md"
log "done: $json"
