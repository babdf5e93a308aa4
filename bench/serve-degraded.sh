#!/usr/bin/env bash
# Degraded RAID-5 writes of `scemu serve` as users meet them (docs/benchmarks.md, "Degraded RAID-5
# writes: the parity journal's group commit"), one or more builds alternating: per round and JAR, a
# fresh `scemu create --level 5 --disks 4 --disk-size 256M`, `scemu serve`, 256 MiB prefilled with
# fio (1 MiB writes, QD8, untimed), fio 4 KiB random writes QD16 for SECONDS (healthy), then
# `scemu disk fail DIR 2` and, degraded: 4 KiB random writes QD16 twice, 4 KiB sequential writes
# QD16 and 1 MiB sequential writes QD8, SECONDS each. Prints one line per round and JAR: IOPS of
# the 4 KiB runs, MiB/s of the 1 MiB run, and the load average.
#
# Usage: bench/serve-degraded.sh ROUNDS SECONDS JAR [JAR...]
#   e.g. bench/serve-degraded.sh 2 8 /tmp/before.jar cli/target/scemu.jar
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { sed -n '2,11p' "$0"; exit 2; }
command -v fio > /dev/null && fio --enghelp=nbd > /dev/null 2>&1 || { echo "fio with the nbd engine is needed" >&2; exit 3; }
. bench/jvm-flags.sh
rounds=$1; seconds=$2; shift 2
work=$(mktemp -d /var/tmp/scemu-degraded.XXXXXX)
serve_pid=
trap '[ -n "$serve_pid" ] && kill -KILL "$serve_pid" 2>/dev/null; rm -rf "$work"' EXIT

run() { # name rw bs iodepth -> IOPS and MiB/s of one time-based fio run
  fio --name="$1" --ioengine=nbd --uri="$uri" --rw="$2" --bs="$3" --iodepth="$4" --size=256m --time_based \
    --runtime="$seconds" --randrepeat=0 --output-format=json --output="$work/$1.json" > /dev/null 2>&1
  python3 -c "import json,sys; w=json.load(open(sys.argv[1]))['jobs'][0]['write']; print('%.0f %.0f' % (w['iops'], w['bw'] / 1024))" \
    "$work/$1.json"
}

for round in $(seq 1 "$rounds"); do
  i=0
  for jar in "$@"; do
    i=$((i + 1)); unit="$work/unit$i"; port=$((21060 + i))
    scemu=(java $SCEMU_JVM_FLAGS -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -jar "$jar")
    rm -rf "$unit"
    "${scemu[@]}" create "$unit" --level 5 --disks 4 --disk-size 256M > /dev/null
    java $SCEMU_JVM_FLAGS -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -jar "$jar" serve "$unit" --port "$port" \
      > "$unit.log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 1 200); do grep -q '^serving' "$unit.log" 2>/dev/null && break; sleep 0.3; done
    uri="nbd://127.0.0.1:$port/volume"
    fio --name=prefill --ioengine=nbd --uri="$uri" --rw=write --bs=1m --iodepth=8 --size=256m > /dev/null 2>&1
    healthy=$(run healthy randwrite 4k 16)
    "${scemu[@]}" disk fail "$unit" 2 > /dev/null
    degraded1=$(run degraded1 randwrite 4k 16)
    degraded2=$(run degraded2 randwrite 4k 16)
    seq4k=$(run seq4k write 4k 16)
    seq1m=$(run seq1m write 1m 8)
    echo "round $round $jar: healthy ${healthy% *} IOPS | degraded random ${degraded1% *} / ${degraded2% *} IOPS," \
      "sequential 4 KiB ${seq4k% *} IOPS, 1 MiB ${seq1m#* } MiB/s (load $(cut -d' ' -f1 /proc/loadavg))"
    kill -KILL "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=
    rm -rf "$unit" "$unit.log"
  done
done
