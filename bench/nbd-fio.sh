#!/usr/bin/env bash
# NBD measurement as a user runs it: fio --ioengine=nbd against `scemu serve` on its default
# mapped-file disks (RAID-5 of 4 x 512 MiB with a 640 MiB snapshot store, so that the store holds a
# copy of the whole 512 MiB working set; first 512 MiB prefilled, then one snapshot taken live),
# `nbdkit memory 512M` (prefilled) and `qemu-nbd` on a 512 MiB qcow2 fully written and then given an
# internal snapshot, one after another in the same run, the same fio jobs on each:
#   4 KiB randwrite QD1, 4 KiB randwrite QD16, 1 MiB sequential write QD8, 4 KiB randread QD1, QD16
# (file names SERVER-JOB.json, as bench/report.sh's renderer reads them), then a table with the
# ratios scemu serve / each peer (needs python3 for the table only).
#
# Usage: bench/nbd-fio.sh [--seconds N] [--out DIR] [--servers serve,nbdkit,qcow2] [--no-build]
#   --seconds   time-based runtime of each job (default 10)
#   --out       result directory (default bench/results/nbd-fio); JSON, logs, summary.md
#   --servers   which servers to run (default all three; bench/report.sh runs only `serve`)
# The scemu unit lives in a temporary directory under --out and is deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=10
out=bench/results/nbd-fio
servers=serve,nbdkit,qcow2
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
SIZE_MIB=512
mkdir -p "$out"
start_epoch=$(date +%s)
log() { echo "[nbd-fio $(( $(date +%s) - start_epoch ))s] $*" >&2; }
if ! command -v fio >/dev/null || ! fio --enghelp=nbd >/dev/null 2>&1; then
  echo "fio with the nbd engine is not installed (Debian: fio 3.x built with libnbd)" >&2
  exit 3
fi
. bench/jvm-flags.sh
. bench/nbd-jobs.sh
JAR=${SCEMU_JAR:-cli/target/scemu.jar} # SCEMU_JAR: another build, for A/B runs
if [ "$build" = 1 ] && [[ ",$servers," == *,serve,* ]]; then
  log "build: ./mvnw -B -o -q -pl cli -am package -DskipTests"
  ./mvnw -B -o -q -pl cli -am package -DskipTests
fi
SCEMU=(java $SCEMU_JVM_FLAGS -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -jar "$JAR")

prefill() { # uri label
  fio --name=prefill --ioengine=nbd --uri="$1" --rw=write --bs=1m --iodepth=8 --size="${SIZE_MIB}m" \
    --output="$out/$2-prefill.log" > /dev/null 2>&1 || log "prefill of $2 failed"
}

if [[ ",$servers," == *,serve,* ]]; then
  unit=$(mktemp -d "$out/unit.XXXXXX")
  rmdir "$unit"
  # the default store (a quarter of the array: 288 MiB at 4 x 384 MiB) fills before the jobs have rewritten
  # the 512 MiB working set once, and the rest of the run would measure ENOSPC replies
  log "scemu create $unit --level 5 --disks 4 --disk-size 512M --snapshot-store 640M (default backend: mapped files)"
  "${SCEMU[@]}" create "$unit" --level 5 --disks 4 --disk-size 512M --snapshot-store 640M > "$out/serve-create.log" 2>&1
  port=$(nbd_free_port 20909)
  "${SCEMU[@]}" serve "$unit" --port "$port" > "$out/serve-server.log" 2>&1 &
  serve_pid=$!
  if nbd_wait_port "$port" 60; then
    for _ in $(seq 1 100); do grep -q '^serving' "$out/serve-server.log" && break; sleep 0.3; done # control socket up
    prefill "nbd://127.0.0.1:$port/volume" serve
    if ! "${SCEMU[@]}" snapshot create "$unit" base >> "$out/serve-create.log" 2>&1; then
      log "scemu snapshot create failed (see $out/serve-create.log): the serve figures would be without a snapshot"
      exit 1
    fi
    echo "serve.note=\`scemu create DIR --level 5 --disks 4 --disk-size 512M --snapshot-store 640M\` (mapped-file disks), \`scemu serve DIR --port $port\`, first ${SIZE_MIB} MiB prefilled by one untimed fio pass, then \`scemu snapshot create DIR base\` (live)." > "$out/serve.properties"
    nbd_run_jobs serve "nbd://127.0.0.1:$port/volume" "$out" "$seconds" "$SIZE_MIB"
  else
    log "scemu serve did not start (see $out/serve-server.log)"
  fi
  kill -TERM "$serve_pid" 2>/dev/null || true # SIGINT is ignored by background jobs of a script; TERM runs the shutdown hook
  wait "$serve_pid" 2>/dev/null || true
  rm -rf "$unit"
fi

if [[ ",$servers," == *,nbdkit,* ]] && command -v nbdkit >/dev/null; then
  port=$(nbd_free_port 20909)
  log "nbdkit memory ${SIZE_MIB}M on $port"
  nbdkit --exit-with-parent -f -i 127.0.0.1 -p "$port" memory "${SIZE_MIB}M" > "$out/nbdkit-server.log" 2>&1 &
  nbdkit_pid=$!
  if nbd_wait_port "$port" 20; then
    prefill "nbd://127.0.0.1:$port/" nbdkit
    nbd_run_jobs nbdkit "nbd://127.0.0.1:$port/" "$out" "$seconds" "$SIZE_MIB"
  fi
  kill "$nbdkit_pid" 2>/dev/null || true
  wait "$nbdkit_pid" 2>/dev/null || true
fi

if [[ ",$servers," == *,qcow2,* ]] && command -v qemu-nbd >/dev/null; then
  port=$(nbd_free_port 20909)
  img="$out/peer.qcow2"
  log "qemu-nbd qcow2 + internal snapshot on $port"
  qemu-img create -q -f qcow2 "$img" "${SIZE_MIB}M"
  qemu-io -f qcow2 -c "write -P 0x5a 0 ${SIZE_MIB}M" "$img" > /dev/null
  qemu-img snapshot -c bench "$img"
  qemu-nbd --fork --persistent -f qcow2 -b 127.0.0.1 -p "$port" --pid-file="$out/qemu-nbd.pid" "$img" \
    > "$out/qcow2-server.log" 2>&1 || true
  if nbd_wait_port "$port" 20; then
    nbd_run_jobs qcow2 "nbd://127.0.0.1:$port/" "$out" "$seconds" "$SIZE_MIB"
  fi
  if [ -f "$out/qemu-nbd.pid" ]; then
    kill "$(cat "$out/qemu-nbd.pid")" 2>/dev/null || true
    rm -f "$out/qemu-nbd.pid"
  fi
  rm -f "$img"
fi

if command -v python3 >/dev/null; then
  python3 - "$out" "$seconds" <<'PY' | tee "$out/summary.md"
import json, os, sys
out, seconds = sys.argv[1], sys.argv[2]
jobs = [("randwrite-4k-qd1", "4 KiB random write QD1, IOPS", "write", "iops"),
        ("randwrite-4k-qd16", "4 KiB random write QD16, IOPS", "write", "iops"),
        ("randread-4k-qd16", "4 KiB random read QD16, IOPS", "read", "iops"),
        ("write-1m-qd8", "1 MiB sequential write QD8, MB/s", "write", "mbs"),
        ("randread-4k-qd1", "4 KiB random read QD1, IOPS", "read", "iops")]
servers = [("serve", "scemu serve (mapped)"), ("nbdkit", "nbdkit memory"), ("qcow2", "qemu-nbd qcow2+snapshot")]
def value(server, job, side, unit):
    path = os.path.join(out, f"{server}-{job}.json")
    if not os.path.exists(path):
        return None
    try:
        j = json.load(open(path))["jobs"][0]
    except Exception:
        return None
    if j.get("error", 0):
        return None
    return j[side]["iops"] if unit == "iops" else j[side]["bw_bytes"] / 1e6
print(f"fio {seconds} s per job, ioengine=nbd, size=512m, randseed=42")
print()
print("| test | " + " | ".join(l for _, l in servers) + " | serve / nbdkit | serve / qcow2 |")
print("|---|" + "---|" * (len(servers) + 2))
for job, label, side, unit in jobs:
    v = {s: value(s, job, side, unit) for s, _ in servers}
    cell = lambda x: "-" if x is None else f"{x:,.0f}"
    ratio = lambda a, b: "-" if a is None or not b else f"{a / b:.2f}"
    print(f"| {label} | " + " | ".join(cell(v[s]) for s, _ in servers)
          + f" | {ratio(v['serve'], v['nbdkit'])} | {ratio(v['serve'], v['qcow2'])} |")
PY
fi
log "done: $out"
