#!/usr/bin/env bash
# Sequential-write amplification of `scemu serve` as users run it, one or more builds alternating
# (docs/benchmarks.md, "Write runs cut at the array's rows"): per round and JAR, a fresh
# `scemu create --level 5 --disks 4 --disk-size 384M`, `scemu serve`, 256 MiB prefilled with fio
# (1 MiB writes, QD8, untimed), then fio 1 MiB sequential writes QD8 over the first 512 MiB
# (different data: fio scrambles its buffers), then `scemu status` (live: the meters since serve
# booted, prefill included). Prints MiB/s of the measured pass and the status meters line:
# "array wrote X B to disks" / "host wrote Y B" is the end-to-end write amplification (RAID-5 of
# 4 disks: 4/3 for whole stripe rows).
#
# Usage: bench/serve-seq-wa.sh ROUNDS JAR [JAR...]
#   e.g. bench/serve-seq-wa.sh 3 /tmp/before.jar cli/target/scemu.jar
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,13p' "$0"; exit 2; }
. bench/jvm-flags.sh
rounds=$1; shift
work=$(mktemp -d /tmp/scemu-seqwa.XXXXXX)
serve_pid=
trap '[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; rm -rf "$work"' EXIT
for round in $(seq 1 "$rounds"); do
  i=0
  for jar in "$@"; do
    i=$((i + 1)); unit="$work/unit$i"; port=$((21040 + i))
    scemu=(java $SCEMU_JVM_FLAGS -jar "$jar")
    rm -rf "$unit"
    "${scemu[@]}" create "$unit" --level 5 --disks 4 --disk-size 384M > /dev/null
    "${scemu[@]}" serve "$unit" --port "$port" > "$unit.log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 1 200); do grep -q '^serving' "$unit.log" 2>/dev/null && break; sleep 0.3; done
    uri="nbd://127.0.0.1:$port/volume"
    fio --name=prefill --ioengine=nbd --uri="$uri" --rw=write --bs=1m --iodepth=8 --size=256m > /dev/null 2>&1
    mibs=$(fio --name=seq --ioengine=nbd --uri="$uri" --rw=write --bs=1m --iodepth=8 --size=512m \
      --output-format=terse --terse-version=3 2>/dev/null | awk -F';' 'NF > 50 {printf "%.0f", $48 / 1024; exit}')
    meters=$("${scemu[@]}" status "$unit" | grep '^meters')
    echo "round $round $jar: $mibs MiB/s (load $(cut -d' ' -f1 /proc/loadavg)) | $meters"
    kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=
    rm -rf "$unit" "$unit.log"
  done
done
