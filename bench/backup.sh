#!/usr/bin/env bash
# The "backup" section of the report: scemu's backup and restore of the 1 GiB half-used test image
# beside zstd -3 -T2 / zstd -d -T2 on the same bytes, in one run, as ratios.
#
# Usage: bench/backup.sh [--runs N] [--image FILE] [--no-build] [--no-engine] [--against DIR] [--out DIR]
#   --image FILE  use this raw image instead of generating it (1 GiB, seed 42)
#   --runs N      rounds (default 3) after one untimed warm-up round; each round runs every command
#                 once, interleaved
#   --no-engine   skip the in-JVM engine figures (BackupBenchmarkTest)
#   --against DIR also run DIR/scemu (another checkout with its jar built, e.g. main's) in every
#                 round, alternating which build goes first, on the same unit: an A/B in one run
#   --out DIR     where the results go (default bench/results)
# Needs: zstd, nbdcopy (libnbd-bin), python3 (the generator); the image generator is
# ../shared/bench/make-test-image.sh relative to the repository root (it lives in the shared folder
# beside the repository, not in it: without it, pass --image). Work files go to a tmpfs directory
# ($SCEMU_BENCH_DIR, default a new directory under /dev/shm, else under target/), so neither scemu
# nor zstd pays for a disk. Output: bench/results/backup.md (and backup-engine.txt).
#
# Two levels are measured:
#  - whole process: `scemu backup create` with a password (JVM start, unit open, Argon2id, snapshot,
#    backup, commit) against `zstd -3 -T2 FILE`; `scemu backup restore` (integrity pass over the
#    stored bytes, then one decoding pass that writes) against `zstd -d -T2`;
#  - engine (BackupBenchmarkTest, -Dscemu.bench.image): BackupEngine.backup/restore in a warm JVM on
#    an off-heap volume holding the image, beside zstd in the same JVM run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

runs=3
image=""
build=1
engine=1
against=""
out=bench/results
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift ;;
    --image) image=$2; shift ;;
    --no-build) build=0 ;;
    --no-engine) engine=0 ;;
    --against) against=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

for tool in zstd nbdcopy python3; do
  command -v "$tool" >/dev/null || { echo "bench/backup.sh: $tool is not installed" >&2; exit 1; }
done
generator="../shared/bench/make-test-image.sh" # relative to the repository root
if [ -z "$image" ] && [ ! -f "$generator" ]; then
  echo "bench/backup.sh: the test image generator $generator (relative to $ROOT) is missing;" \
       "pass --image FILE (a 1 GiB raw image)" >&2
  exit 1
fi

if [ -n "${SCEMU_BENCH_DIR:-}" ]; then
  work=$SCEMU_BENCH_DIR
  mkdir -p "$work"
elif [ -d /dev/shm ] && [ -w /dev/shm ]; then
  work=$(mktemp -d -p /dev/shm scemu-backup-bench.XXXXXX)
else
  mkdir -p target
  work=$(mktemp -d -p "$ROOT/target" backup-bench.XXXXXX)
fi
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; fi
  if [ -z "${SCEMU_BENCH_DIR:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p "$out"
log() { echo "[backup bench] $*" >&2; }

if [ "$build" = 1 ]; then
  log "build: ./mvnw -B -o -q -pl cli -am package -DskipTests"
  ./mvnw -B -o -q -pl cli -am package -DskipTests
fi
SCEMU="$ROOT/scemu"
if [ -n "$against" ]; then
  against=$(cd "$against" && pwd)
  [ -x "$against/scemu" ] && [ -f "$against/cli/target/scemu.jar" ] \
    || { echo "bench/backup.sh: --against $against needs DIR/scemu and DIR/cli/target/scemu.jar" >&2; exit 1; }
fi

if [ -z "$image" ]; then
  image="$work/test-1g.img"
  log "generate: $generator $image 1024 42"
  image_line=$("$generator" "$image" 1024 42)
else
  image_line="$image (given)"
fi
bytes=$(stat -c %s "$image")

log "unit: scemu create --disk-size=640M (RAID-5 of 4 mapped files, volume 1431 MiB); nbdcopy the image in"
"$SCEMU" create --disk-size=640M "$work/unit" > /dev/null
"$SCEMU" serve --socket="$work/nbd.sock" "$work/unit" > "$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 300); do [ -S "$work/nbd.sock" ] && break; sleep 0.1; done
nbdcopy "$image" "nbd+unix:///volume?socket=$work/nbd.sock"
kill -TERM "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
serve_pid=""
echo "bench password" > "$work/password"

now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
declare -a zc zd sc sr zsize ssize ac ar
# one backup create + restore with launcher $1 into backup directory $2; appends the times to sc/sr or ac/ar ($3)
scemu_round() {
  local t0 t1
  rm -rf "$2"
  t0=$(now)
  "$1" backup create "$work/unit" -t "$2" --password-file "$work/password" --image-id bench \
    > "$work/create.log" 2> /dev/null
  t1=$(now)
  if [ "$3" = this ]; then sc+=("$(secs "$t0" "$t1")"); ssize+=("$(stat -c %s "$2/bench.scb")"); else ac+=("$(secs "$t0" "$t1")"); fi
  t0=$(now)
  "$1" backup restore "$work/unit" bench -t "$2" --password-file "$work/password" \
    > "$work/restore.log" 2> /dev/null
  t1=$(now)
  if [ "$3" = this ]; then sr+=("$(secs "$t0" "$t1")"); else ar+=("$(secs "$t0" "$t1")"); fi
}
# one untimed round of each command first: the launcher dumps its class archive on the first run
# after a build (+0.8 s, not what a user's later runs pay), and zstd's first run reads the image cold
log "warm-up round (not timed)"
rm -f "$work/img.zst" "$work/img.out"
zstd -3 -T2 -q -f "$image" -o "$work/img.zst" && zstd -d -T2 -q -f "$work/img.zst" -o "$work/img.out"
rm -f "$work/img.out"
scemu_round "$SCEMU" "$work/backups" this; sc=(); sr=(); ssize=()
if [ -n "$against" ]; then # warm-up of the other build: its launcher makes its class archives
  scemu_round "$against/scemu" "$work/backups-against" against; ac=(); ar=()
fi
for r in $(seq 1 "$runs"); do
  log "round $r/$runs (load $(cut -d' ' -f1 /proc/loadavg))"
  rm -f "$work/img.zst" "$work/img.out"
  t0=$(now); zstd -3 -T2 -q -f "$image" -o "$work/img.zst"; t1=$(now)
  zc+=("$(secs "$t0" "$t1")"); zsize+=("$(stat -c %s "$work/img.zst")")
  t0=$(now); zstd -d -T2 -q -f "$work/img.zst" -o "$work/img.out"; t1=$(now)
  zd+=("$(secs "$t0" "$t1")")
  rm -f "$work/img.out"
  if [ -n "$against" ] && [ $((r % 2)) = 0 ]; then scemu_round "$against/scemu" "$work/backups-against" against; fi
  scemu_round "$SCEMU" "$work/backups" this
  if [ -n "$against" ] && [ $((r % 2)) = 1 ]; then scemu_round "$against/scemu" "$work/backups-against" against; fi
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mzc=$(median "${zc[@]}"); mzd=$(median "${zd[@]}"); msc=$(median "${sc[@]}"); msr=$(median "${sr[@]}")
mzs=$(median "${zsize[@]}"); mss=$(median "${ssize[@]}")

engine_text="(skipped: --no-engine)"
engine_failed=0
if [ "$engine" = 1 ]; then
  log "engine: BackupBenchmarkTest (-Dscemu.bench.image)"
  if ./mvnw -B -o -q -pl backup -am verify -Dtest=BackupBenchmarkTest -Dsurefire.failIfNoSpecifiedTests=false \
    -Dscemu.bench.image="$image" -Dscemu.bench.dir="$work/engine" -Dscemu.bench.runs="$runs" \
    -Djacoco.skip=true > "$work/engine.log" 2>&1; then
    cp backup/target/backup-benchmark.txt "$out/backup-engine.txt"
    cp backup/target/backup-benchmark.json "$out/backup-engine.json"
    engine_text=$(cat "$out/backup-engine.txt")
  else # the whole-process figures are still written; the script fails at its end
    tail -30 "$work/engine.log" >&2
    engine_text="(the engine benchmark failed: BackupBenchmarkTest, see the output above)"
    engine_failed=1
  fi
fi

python3 - "$out/backup.md" "$bytes" "$mzc" "$mzd" "$msc" "$msr" "$mzs" "$mss" "$runs" "$image_line" \
  "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(java -version 2>&1 | head -1)" "$engine_text" \
  "${zc[*]}" "${sc[*]}" "${zd[*]}" "${sr[*]}" "$against" "${ac[*]:-}" "${ar[*]:-}" <<'PY'
import sys
(out, size, zc, zd, sc, sr, zs, ss, runs, image, nproc, load, java, engine,
 zc_all, sc_all, zd_all, sr_all, against, ac_all, ar_all) = sys.argv[1:]
def median(text):
    v = sorted(float(x) for x in text.split())
    return v[(len(v) - 1) // 2]
size, zc, zd, sc, sr, zs, ss = int(size), float(zc), float(zd), float(sc), float(sr), int(zs), int(ss)
mb = lambda s: size / s / 1e6
against_text = ""
if against:
    mac, mar = median(ac_all), median(ar_all)
    against_text = (f"\nA/B in the same rounds (alternating which build goes first), `{against}/scemu`: backup create "
                    f"{mac:.3f} s (rounds {ac_all}; speed {zc / mac:.2f}x zstd; this build / that build "
                    f"{sc / mac:.2f}), restore {mar:.3f} s (rounds {ar_all}; speed {zd / mar:.2f}x zstd -d; this / that "
                    f"{sr / mar:.2f}).\n")
import json, os
def rounds(text):
    return [float(x) for x in text.split()]
with open(os.path.join(os.path.dirname(out), 'backup.json'), 'w') as f:
    json.dump({"image": image, "imageBytes": size, "runs": int(runs), "nproc": int(nproc), "load": load, "java": java,
               "zstdSeconds": zc, "zstdBytes": zs, "createSeconds": sc, "scemuImageBytes": ss,
               "zstdDecompressSeconds": zd, "restoreSeconds": sr,
               "zstdRounds": rounds(zc_all), "createRounds": rounds(sc_all),
               "zstdDecompressRounds": rounds(zd_all), "restoreRounds": rounds(sr_all)}, f, indent=1)
with open(out, 'w') as f:
    f.write(f"""# Backup beside zstd (bench/backup.sh)

Image: {image}. Machine: {nproc} CPUs, load {load}, {java}. Medians of {runs} interleaved rounds after one untimed warm-up round of each command.

## Whole process (`scemu backup create` with a password, `scemu backup restore`)

| what | seconds | MB/s of the 1 GiB image | output bytes | ratio to zstd (speed; size) |
|---|---|---|---|---|
| `zstd -3 -T2 IMG -o IMG.zst` | {zc:.3f} | {mb(zc):.0f} | {zs:,} | 1 |
| `scemu backup create UNIT -t DIR --password-file F` | {sc:.3f} | {mb(sc):.0f} | {ss:,} | speed {zc / sc:.2f}x; size {ss / zs:.3f}x |
| `zstd -d -T2 IMG.zst -o OUT` | {zd:.3f} | {mb(zd):.0f} | | 1 |
| `scemu backup restore UNIT ID -t DIR --password-file F` | {sr:.3f} | {mb(sr):.0f} | | speed {zd / sr:.2f}x |

Rounds (s): zstd -3 {zc_all}; scemu backup create {sc_all}; zstd -d {zd_all}; scemu backup restore {sr_all}.
{against_text}
The scemu figures include the JVM start, opening the unit (RAID assembly, firmware inspection),
Argon2id (19 MiB, 2 passes, once per command, on a second thread beside the unit open) and the
snapshot; the restore checks every chunk against the authenticated index before its first write
(integrity pass, on a second thread beside its read-only look at the unit), then decodes each
chunk once, and trims the image's zero runs on the unit (RAID-5 member trims).

## Engine (BackupBenchmarkTest, same image, warm JVM, zstd in the same run)

```
{engine}
```
""")
print(open(out).read())
PY
log "wrote $out/backup.md"
[ "$engine_failed" = 0 ] || { log "the engine benchmark failed (whole-process figures written)"; exit 1; }
