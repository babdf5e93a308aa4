#!/usr/bin/env bash
# Two scemu builds side by side on what `scemu serve` users run (docs/benchmarks.md, "scemu serve
# writes"): for each JAR, `scemu create --level 5 --disks 4 --disk-size 384M`, `scemu serve`,
# 512 MiB prefilled with 1 MiB writes, with --snapshot a live `scemu snapshot create`, then fio
# --ioengine=nbd jobs of a fixed number of I/Os, printing IOPS and the server's CPU µs per I/O
# (utime + stime of the serve process, kernel page-cache work included).
#
# Usage: bench/serve-ab.sh [--snapshot [--warm]] [--ios N] [--rounds R] JAR [JAR...]
#   default: one JAR after the other (snapshot: 1 MiB first writes, then two passes of 4 KiB
#            random writes QD16)
#   --warm: before the measured snapshot, the same jobs once untimed under a throwaway snapshot
#            ("warm": the 1 MiB pass, two 4 KiB passes with another seed; then deleted), so that
#            the measured passes run code C2 compiled for them: in a fresh server each new shape
#            of writes (first COW, 1 MiB runs, 4 KiB runs after them) deoptimizes and recompiles
#            the write path, 50-110 us of compiler CPU per write over a 15,000-write pass
#            (docs/benchmarks.md, "The first pass of writes after a snapshot")
#   --rounds R: every JAR's server is started first, then R rounds run the jobs of $AB_JOBS
#            (default "randread:1 randread:16 randwrite:16", 4 KiB, rw:queue-depth) on each
#            server in turn, so the builds alternate under the same machine load
#   e.g. bench/serve-ab.sh --snapshot ../base/cli/target/scemu.jar cli/target/scemu.jar
#        bench/serve-ab.sh --rounds 4 --ios 20000 ../base/cli/target/scemu.jar cli/target/scemu.jar
set -euo pipefail
cd "$(dirname "$0")/.."
snapshot=0
warm=0
ios=15000
rounds=0
while [ $# -gt 0 ]; do
  case "$1" in
    --snapshot) snapshot=1; shift ;;
    --warm) warm=1; shift ;;
    --ios) ios=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { sed -n '2,20p' "$0"; exit 2; }
. bench/jvm-flags.sh
work=$(mktemp -d /tmp/scemu-ab.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

measure() { # pid uri rw bs qd ios [seed]
  local t0 t1 out iops
  t0=$(awk '{print $14 + $15}' "/proc/$1/stat")
  out=$(fio --name=ab --ioengine=nbd --uri="$2" --rw="$3" --bs="$4" --iodepth="$5" --size=512m \
    --number_ios="$6" --randseed="${7:-42}" --output-format=terse --terse-version=3 2>/dev/null)
  t1=$(awk '{print $14 + $15}' "/proc/$1/stat")
  iops=$(echo "$out" | awk -F';' 'NF > 50 {print ($49 > 0) ? $49 : $8; exit}')
  echo "  $3 $4 QD$5: $iops IOPS, $(( (t1 - t0) * 10000 / $6 )) us CPU per I/O"
}

# start JAR INDEX: a prefilled unit served on port 20931 + INDEX; sets serve_pid and uri
start() {
  local scemu=(java $SCEMU_JVM_FLAGS -jar "$1") unit="$work/unit$2" port=$((20931 + $2))
  "${scemu[@]}" create "$unit" --level 5 --disks 4 --disk-size 384M > /dev/null
  "${scemu[@]}" serve "$unit" --port "$port" > "$unit.log" 2>&1 &
  serve_pid=$!
  pids+=("$serve_pid")
  for _ in $(seq 1 200); do grep -q '^serving' "$unit.log" 2>/dev/null && break; sleep 0.3; done
  uri="nbd://127.0.0.1:$port/volume"
  fio --name=prefill --ioengine=nbd --uri="$uri" --rw=write --bs=1m --iodepth=8 --size=512m > /dev/null 2>&1
  if [ "$snapshot" = 1 ]; then
    if [ "$warm" = 1 ]; then # the measured jobs once, untimed, under a throwaway snapshot
      "${scemu[@]}" snapshot create "$unit" warm > /dev/null
      fio --name=warm --ioengine=nbd --uri="$uri" --rw=write --bs=1m --iodepth=8 --size=512m \
        --number_ios=200 > /dev/null 2>&1
      for _ in 1 2; do
        fio --name=warm --ioengine=nbd --uri="$uri" --rw=randwrite --bs=4k --iodepth=16 --size=512m \
          --number_ios="$ios" --randseed=41 > /dev/null 2>&1
      done
      "${scemu[@]}" snapshot delete "$unit" warm > /dev/null
    fi
    "${scemu[@]}" snapshot create "$unit" base > /dev/null
  fi
}

if [ "$rounds" -gt 0 ]; then
  jars=("$@")
  serve_pids=()
  uris=()
  for i in "${!jars[@]}"; do
    start "${jars[$i]}" "$i"
    serve_pids+=("$serve_pid")
    uris+=("$uri")
  done
  for round in $(seq 1 "$rounds"); do
    for i in "${!jars[@]}"; do
      echo "round $round: ${jars[$i]} (snapshot: $snapshot, load $(cut -d' ' -f1 /proc/loadavg))"
      for job in ${AB_JOBS:-randread:1 randread:16 randwrite:16}; do
        measure "${serve_pids[$i]}" "${uris[$i]}" "${job%%:*}" 4k "${job##*:}" "$ios"
      done
    done
  done
  exit 0
fi

for jar in "$@"; do
  start "$jar" 0
  echo "$jar (snapshot: $snapshot, warm: $warm, load $(cut -d' ' -f1 /proc/loadavg))"
  if [ "$snapshot" = 1 ]; then
    measure "$serve_pid" "$uri" write 1m 8 200
  fi
  measure "$serve_pid" "$uri" randwrite 4k 16 "$ios"
  measure "$serve_pid" "$uri" randwrite 4k 16 "$ios"
  kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
  rm -rf "$work/unit0" "$work/unit0.log"
done
