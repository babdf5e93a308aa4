#!/usr/bin/env bash
# Issue 21's sparse target, end to end as a user runs it: "backing up a 576 GiB volume (4 sparse
# 256 GiB members) that holds 10 MB of data takes less than 10 s, and its image holds about 10 MB
# before compression".
#   1. `scemu create --level 5 --disks 4 --disk-size 256G` (timed) in a fresh directory;
#   2. `scemu serve --socket` and four 2,500 KiB writes of seeded pseudo-random (incompressible)
#      data at 0, 100G, 300G and 500G by qemu-io; serve stopped with SIGTERM;
#   3. RUNS rounds of `scemu backup create` (password), `backup verify` and `backup restore`, each
#      timed as the wall time of the whole process (JVM start included), a fresh backup directory
#      per round; the "stored" figure create prints and the .scb image size are recorded;
#   4. after the last restore, serve again and compare the four ranges (qemu-img convert of each
#      range through the raw driver's offset/size) with the data written: a difference fails.
#
# Usage: bench/backup-sparse.sh [--runs N] [--bench-dir DIR] [--out DIR] [--scemu PATH]
#   --runs N         rounds (default 3)
#   --bench-dir DIR  where the work directory (a new mktemp -d, removed on exit) goes (default
#                    $SCEMU_BENCH_DIR, else /var/tmp: sparse member files on a real disk, not tmpfs)
#   --out DIR        result directory (default bench/results): backup-sparse.json, backup-sparse.md
#   --scemu PATH     the scemu launcher to run (default the repository's ./scemu)
# Needs qemu-io, qemu-img (qemu-utils), nbdinfo (libnbd-bin), python3, cmp.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

runs=3
bench_dir="${SCEMU_BENCH_DIR:-/var/tmp}"
out="$ROOT/bench/results"
SCEMU="$ROOT/scemu"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --bench-dir) bench_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --scemu) SCEMU=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench/backup-sparse.sh: --runs needs a positive integer" >&2; exit 2; }
for tool in qemu-io qemu-img nbdinfo python3 cmp; do
  command -v "$tool" >/dev/null || { echo "bench/backup-sparse.sh: $tool is not installed" >&2; exit 1; }
done
[ -x "$SCEMU" ] || { echo "bench/backup-sparse.sh: no scemu launcher at $SCEMU" >&2; exit 1; }
# the launcher rebuilds its jar when a source is newer: a build inside a timed command spoils it
jar_stamp() { stat -c %Y "$(dirname "$SCEMU")/cli/target/scemu.jar" 2>/dev/null || echo none; }
JAR_STAMP=$(jar_stamp)

mkdir -p "$out" "$bench_dir"
out=$(cd "$out" && pwd)
work=$(mktemp -d -p "$bench_dir" scemu-backup-sparse.XXXXXX)
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then kill -TERM "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "[backup-sparse $(date -u +%H:%M:%S)] $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s%N; }
secs() { local d=$(( $2 - $1 )); printf '%d.%03d' $(( d / 1000000000 )) $(( d / 1000000 % 1000 )); }
LOAD_START="$(load)"
FS_TYPE="$(stat -f -c %T "$work")"
unit="$work/unit"
sock="$work/nbd.sock"
uri="nbd+unix:///volume?socket=$sock"

serve_start() {
  rm -f "$sock"
  "$SCEMU" serve --socket="$sock" "$unit" > "$work/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 600); do
    [ -S "$sock" ] && return 0
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench/backup-sparse.sh: scemu serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1
}
serve_stop() { # SIGTERM runs the shutdown hook (SIGINT is ignored by a script's background job)
  kill -TERM "$serve_pid"
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
}

log "work directory $work ($FS_TYPE); scemu create --level 5 --disks 4 --disk-size 256G"
t0=$(now)
"$SCEMU" create --level 5 --disks 4 --disk-size 256G "$unit" > "$work/create.log"
UNIT_CREATE=$(secs "$t0" "$(now)")
MEMBER_BYTES=$(stat -c %s "$unit/disk0.img")
MEMBERS=$(find "$unit" -maxdepth 1 -name 'disk*.img' | wc -l)

# the data: 4 x 2,500 KiB from random.Random(21 + i), at 0, 100G, 300G and 500G
PIECE=$(( 2500 * 1024 ))
OFFSETS=(0 $(( 100 << 30 )) $(( 300 << 30 )) $(( 500 << 30 )))
for i in 0 1 2 3; do
  python3 -c 'import random, sys; open(sys.argv[1], "wb").write(random.Random(int(sys.argv[2])).randbytes(int(sys.argv[3])))' \
    "$work/data$i" $(( 21 + i )) "$PIECE"
done
DATA_BYTES=$(( 4 * PIECE ))
serve_start
VOLUME_BYTES=$(nbdinfo --size "$uri")
log "serving $VOLUME_BYTES bytes; writing 4 x $PIECE bytes with qemu-io"
for i in 0 1 2 3; do
  qemu-io -f raw "$uri" -c "write -q -s $work/data$i ${OFFSETS[$i]} $PIECE"
done
serve_stop

echo "bench password" > "$work/password"
declare -a cr vr rr stored image
for r in $(seq 1 "$runs"); do
  log "round $r/$runs (load $(cut -d' ' -f1 /proc/loadavg))"
  bk="$work/backups-$r"
  t0=$(now)
  "$SCEMU" backup create "$unit" -t "$bk" --password-file "$work/password" --image-id "s$r" > "$work/backup.log"
  cr+=("$(secs "$t0" "$(now)")")
  # e.g. "backup s1: 10000 KiB of 589812 MiB stored in DIR (10241629 B image, encrypted), ..."
  stored+=("$(python3 - "$work/backup.log" <<'PY'
import re, sys
m = re.search(r'([\d.,]+)\s*(B|KiB|MiB|GiB|TiB)\s+of\s+[\d.,]+\s*(?:B|KiB|MiB|GiB|TiB)\s+stored', open(sys.argv[1]).read())
if not m:
    sys.exit("no 'N UNIT of M UNIT stored' in the output of backup create")
print(round(float(m[1].replace(',', '')) * 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].index(m[2])))
PY
)")
  image+=("$(stat -c %s "$bk/s$r.scb")")
  t0=$(now)
  "$SCEMU" backup verify -t "$bk" --password-file "$work/password" "s$r" > "$work/verify.log"
  vr+=("$(secs "$t0" "$(now)")")
  t0=$(now)
  "$SCEMU" backup restore "$unit" "s$r" -t "$bk" --password-file "$work/password" > "$work/restore.log"
  rr+=("$(secs "$t0" "$(now)")")
  log "round $r: create ${cr[-1]} s, verify ${vr[-1]} s, restore ${rr[-1]} s; stored ${stored[-1]} B, image ${image[-1]} B"
  rm -rf "$bk"
done

log "checking the four ranges after the last restore"
serve_start
sock_opt=${sock//,/,,} # qemu option syntax: a comma in a value is doubled
for i in 0 1 2 3; do
  qemu-img convert --image-opts -O raw \
    "driver=raw,offset=${OFFSETS[$i]},size=$PIECE,file.driver=nbd,file.server.type=unix,file.server.path=$sock_opt,file.export=volume" \
    "$work/read$i"
  cmp "$work/data$i" "$work/read$i" \
    || { echo "bench/backup-sparse.sh: the range at ${OFFSETS[$i]} differs after the restore" >&2; exit 1; }
done
serve_stop
UNIT_ALLOCATED=$(du -s -B1 "$unit" | cut -f1)
log "the four ranges read back equal"
JAR_REBUILT=0
[ "$JAR_STAMP" = "$(jar_stamp)" ] || { JAR_REBUILT=1; log "warning: the launcher rebuilt its jar during the run: timings include a build"; }

python3 - "$out" "$VOLUME_BYTES" "$MEMBERS" "$MEMBER_BYTES" "$DATA_BYTES" "$runs" "${cr[*]}" "${rr[*]}" \
  "${vr[*]}" "${stored[*]}" "${image[*]}" "$FS_TYPE" "$LOAD_START" "$(load)" "$(nproc)" "$UNIT_CREATE" \
  "$(date -u +%Y-%m-%dT%H:%MZ)" "$UNIT_ALLOCATED" "$JAR_REBUILT" <<'PY'
import json, sys
(out, volume, members, member, data, runs, cr, rr, vr, stored, image, fs, load0, load1, nproc,
 unit_create, date, allocated, rebuilt) = sys.argv[1:]
fl = lambda s: [float(x) for x in s.split()]
it = lambda s: [int(x) for x in s.split()]
median = lambda v: sorted(v)[(len(v) - 1) // 2]
cr, rr, vr, stored, image = fl(cr), fl(rr), fl(vr), it(stored), it(image)
data = int(data)
res = dict(volumeBytes=int(volume), members=int(members), memberBytes=int(member), dataBytesWritten=data,
           runs=int(runs), createSeconds=median(cr), restoreSeconds=median(rr), verifySeconds=median(vr),
           createSecondsRounds=cr, restoreSecondsRounds=rr, verifySecondsRounds=vr,
           storedBytes=median(stored), storedBytesRounds=stored, imageBytes=median(image), imageBytesRounds=image,
           unitAllocatedBytes=int(allocated), benchDirFsType=fs, loadAverageStart=load0, loadAverageEnd=load1,
           nproc=int(nproc), unitCreateSeconds=float(unit_create), date=date, jarRebuiltDuringRun=rebuilt == '1')
time_ok = res['createSeconds'] < 10
size_ok = data <= res['storedBytes'] <= 1.1 * data and res['imageBytes'] <= 1.1 * data
res['targetMet'] = time_ok and size_ok
with open(f'{out}/backup-sparse.json', 'w') as f:
    json.dump(res, f, indent=1)
    f.write('\n')
gib, r = lambda b: b / 2 ** 30, lambda v: ' '.join(f'{x:.3f}' for x in v)
md = f"""## Sparse backup (bench/backup-sparse.sh, {date})

Unit: `scemu create --level 5 --disks 4 --disk-size 256G` ({unit_create} s): RAID-5 of {members} sparse
{gib(int(member)):.0f} GiB mapped member files on {fs}, volume {int(volume):,} bytes ({gib(int(volume)):.0f} GiB);
{data:,} bytes of seeded pseudo-random data written by qemu-io over NBD in four 2,500 KiB pieces at 0,
100G, 300G and 500G, the rest never written. Wall time of each whole command (JVM start included,
password-encrypted image), median of {runs} rounds; {nproc} CPUs, load average {load0} at start, {load1}
at the end. The four ranges read back equal after the last restore.

| command | median s | rounds (s) |
|---|---|---|
| `scemu backup create UNIT -t DIR --password-file F` | {res['createSeconds']:.3f} | {r(cr)} |
| `scemu backup verify -t DIR --password-file F ID` | {res['verifySeconds']:.3f} | {r(vr)} |
| `scemu backup restore UNIT ID -t DIR --password-file F` | {res['restoreSeconds']:.3f} | {r(rr)} |

Stored (before compression): {res['storedBytes']:,} bytes; image (`.scb`): {res['imageBytes']:,} bytes
(data written: {data:,} bytes). Unit after the restore: {int(allocated):,} bytes allocated on disk.

Target (issue 21): backup create < 10 s, image about 10 MB before compression (here: stored within
1.0-1.1x the data written, image at most 1.1x): **{'met' if res['targetMet'] else 'not met'}**
(create {res['createSeconds']:.3f} s: {'yes' if time_ok else 'no'}; size: {'yes' if size_ok else 'no'}).
""" + ("\n**Warning**: the scemu launcher rebuilt its jar during this run; some timings include a build.\n"
       if rebuilt == '1' else "")
with open(f'{out}/backup-sparse.md', 'w') as f:
    f.write(md)
print(md)
PY
log "wrote $out/backup-sparse.json and $out/backup-sparse.md"
