#!/usr/bin/env bash
# Two scemu builds side by side on what `scemu serve` users run (docs/benchmarks.md, "scemu serve
# writes"): for each JAR in turn, `scemu create --level 5 --disks 4 --disk-size 384M`, `scemu serve`,
# 512 MiB prefilled with 1 MiB writes, with --snapshot a live `scemu snapshot create`, then fio
# --ioengine=nbd jobs of a fixed number of I/Os, printing IOPS and the server's CPU µs per I/O
# (utime + stime of the serve process, kernel page-cache work included).
#
# Usage: bench/serve-ab.sh [--snapshot] [--ios N] JAR [JAR...]
#   e.g. bench/serve-ab.sh --snapshot ../base/cli/target/scemu.jar cli/target/scemu.jar
set -euo pipefail
cd "$(dirname "$0")/.."
snapshot=0
ios=15000
while [ $# -gt 0 ]; do
  case "$1" in
    --snapshot) snapshot=1; shift ;;
    --ios) ios=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { sed -n '2,9p' "$0"; exit 2; }
. bench/jvm-flags.sh
port=20931
unit=$(mktemp -d /tmp/scemu-ab.XXXXXX)
trap 'kill "${serve_pid:-0}" 2>/dev/null || true; rm -rf "$unit"' EXIT

measure() { # pid uri rw bs qd ios
  local t0 t1 out iops
  t0=$(awk '{print $14 + $15}' "/proc/$1/stat")
  out=$(fio --name=ab --ioengine=nbd --uri="$2" --rw="$3" --bs="$4" --iodepth="$5" --size=512m \
    --number_ios="$6" --randseed=42 --output-format=terse --terse-version=3 2>/dev/null)
  t1=$(awk '{print $14 + $15}' "/proc/$1/stat")
  iops=$(echo "$out" | awk -F';' '{print ($49 > 0) ? $49 : $8}')
  echo "  $3 $4 QD$5: $iops IOPS, $(( (t1 - t0) * 10000 / $6 )) us CPU per I/O"
}

for jar in "$@"; do
  scemu=(java $SCEMU_JVM_FLAGS -jar "$jar")
  rm -rf "$unit"
  "${scemu[@]}" create "$unit" --level 5 --disks 4 --disk-size 384M > /dev/null
  "${scemu[@]}" serve "$unit" --port "$port" > "$unit.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 200); do grep -q '^serving' "$unit.log" 2>/dev/null && break; sleep 0.3; done
  uri="nbd://127.0.0.1:$port/volume"
  fio --name=prefill --ioengine=nbd --uri="$uri" --rw=write --bs=1m --iodepth=8 --size=512m > /dev/null 2>&1
  if [ "$snapshot" = 1 ]; then
    "${scemu[@]}" snapshot create "$unit" base > /dev/null
  fi
  echo "$jar (snapshot: $snapshot, load $(cut -d' ' -f1 /proc/loadavg))"
  if [ "$snapshot" = 1 ]; then
    measure "$serve_pid" "$uri" write 1m 8 200
  fi
  measure "$serve_pid" "$uri" randwrite 4k 16 "$ios"
  measure "$serve_pid" "$uri" randwrite 4k 16 "$ios"
  kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
  rm -f "$unit.log"
done
