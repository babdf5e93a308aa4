#!/usr/bin/env bash
# Block status and TLS figures of the NBD server (issue 19), one run, every figure from this run:
#   1. nbdcopy of a mostly empty ~1 GiB scemu volume (RAID-5 of 4 sparse member files, the default
#      mapped backend, under the snapshot volume) to null:, against qemu-nbd serving a raw file with
#      the same content (copied out of the volume by nbdcopy, holes dug with fallocate -d);
#   2. the same copy with --no-extents (every byte read: what a client without block status does);
#   3. TLS against plain: nbdcopy --no-extents over nbds:// (X.509, certificates made by openssl in
#      a temporary directory) against nbd:// on the same scemu server (--tls=on serves both).
# Runs are interleaved (scemu, qemu-nbd, ... RUNS times) and the median time of each is reported.
#
# Usage: bench/nbd-sparse.sh [OUT_DIR]     (default bench/results/nbd-sparse)
#   env RUNS (default 3), DISK_SIZE (default 458M: a volume of about 1 GiB), DATA_MIB (default 64)
# Needs nbdcopy, nbdinfo (libnbd-bin), qemu-nbd, qemu-io (qemu-utils), openssl; a missing tool skips
# the run with a note. Uses the ./scemu launcher (builds the CLI jar if sources changed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/bench/results/nbd-sparse}"
RUNS="${RUNS:-3}"
DISK_SIZE="${DISK_SIZE:-458M}"
DATA_MIB="${DATA_MIB:-64}"
mkdir -p "$OUT"
for tool in nbdcopy nbdinfo qemu-nbd qemu-io openssl fallocate; do
  if ! command -v "$tool" >/dev/null; then
    echo "nbd-sparse: $tool is not installed: no block status / TLS figures" | tee "$OUT/nbd-sparse.md"
    exit 0
  fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/scemu-nbd-sparse.XXXXXX")"
SERVE_PID=""
QEMU_PID=""
cleanup() {
  if [ -n "$QEMU_PID" ]; then kill "$QEMU_PID" 2>/dev/null || true; wait "$QEMU_PID" 2>/dev/null || true; fi
  if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "[nbd-sparse $(date -u +%H:%M:%S)] $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_START="$(load)"

# ---- certificates (CA, server certificate for 127.0.0.1; the client trusts the CA)
certs="$WORK/certs"; client="$WORK/client"; mkdir -p "$certs" "$client"
(
  cd "$certs"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca-key.pem \
    -out ca-cert.pem -days 2 -subj "/CN=scemu bench CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server-key.pem \
    -out server.csr -subj "/CN=localhost"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n' > server.ext
  openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
    -out server-cert.pem -extfile server.ext
) > "$WORK/openssl.log" 2>&1
cp "$certs/ca-cert.pem" "$client/"

# ---- the unit and its server
log "creating a RAID-5 unit of 4 x $DISK_SIZE"
"$ROOT/scemu" create "$WORK/unit" --level 5 --disks 4 --disk-size "$DISK_SIZE" > "$WORK/create.log" 2>&1
"$ROOT/scemu" serve "$WORK/unit" --port 0 --tls=on --tls-certificates "$certs" > "$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 600); do
  grep -q "serving" "$WORK/serve.log" 2>/dev/null && break
  kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.2
done
PORT="$(grep -o 'nbds\?://127\.0\.0\.1:[0-9]*/volume' "$WORK/serve.log" | head -1 | sed 's/.*:\([0-9]*\)\/volume/\1/')"
PLAIN="nbd://127.0.0.1:$PORT/volume"
TLS="nbds://127.0.0.1:$PORT/volume?tls-certificates=$client"
SIZE="$(nbdinfo --size "$PLAIN")"
log "scemu serves $PLAIN and nbds:// ($SIZE bytes)"

# ---- content: DATA_MIB of data in 8 extents spread over the volume, the rest never written
piece=$(( DATA_MIB / 8 ))
for i in 0 1 2 3 4 5 6 7; do
  offset=$(( (SIZE / 8 * i) / 1048576 * 1048576 ))
  qemu-io -f raw "$PLAIN" -c "write -P $(( 17 + i )) $offset ${piece}M" > /dev/null
done
MAP_LINES="$(nbdinfo --map "$PLAIN" | wc -l)"
DATA_BYTES="$(nbdinfo --map "$PLAIN" | awk '$3 == 0 { s += $2 } END { print s + 0 }')"

# ---- the same content in a sparse raw file, served by qemu-nbd
nbdcopy "$PLAIN" "$WORK/ref.raw"
fallocate -d "$WORK/ref.raw"
QPORT=""
for _ in 1 2 3 4 5 6 7 8; do
  candidate=$(( 20000 + RANDOM % 20000 ))
  qemu-nbd -r -t -f raw -x volume --bind 127.0.0.1 -p "$candidate" "$WORK/ref.raw" > "$WORK/qemu-nbd.log" 2>&1 &
  QEMU_PID=$!
  for _ in $(seq 1 50); do
    if nbdinfo --size "nbd://127.0.0.1:$candidate/volume" > /dev/null 2>&1; then QPORT=$candidate; break; fi
    kill -0 "$QEMU_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$QPORT" ] && break
  kill "$QEMU_PID" 2>/dev/null || true; wait "$QEMU_PID" 2>/dev/null || true; QEMU_PID=""
done
[ -n "$QPORT" ] || { echo "qemu-nbd did not start: $(cat "$WORK/qemu-nbd.log")" >&2; exit 1; }
QEMU="nbd://127.0.0.1:$QPORT/volume"
cmp "$WORK/ref.raw" <(nbdcopy "$QEMU" -) || { echo "qemu-nbd does not serve the volume's content" >&2; exit 1; }
REF_ALLOCATED="$(du -k "$WORK/ref.raw" | cut -f1)"

# ---- measurements, interleaved
declare -A times
timed() { # NAME nbdcopy-args...
  local name="$1"; shift
  local start end
  start="$(date +%s.%N)"
  nbdcopy "$@" null:
  end="$(date +%s.%N)"
  times[$name]="${times[$name]:-} $(printf '%.2f' "$(echo "$end - $start" | bc)")"
}
for run in $(seq 1 "$RUNS"); do
  log "run $run of $RUNS"
  timed scemu_sparse "$PLAIN"
  timed qemu_sparse "$QEMU"
  timed scemu_full --no-extents "$PLAIN"
  timed qemu_full --no-extents "$QEMU"
  timed scemu_tls_full --no-extents "$TLS"
  timed scemu_tls_sparse "$TLS"
done
median() { echo "$1" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mibs() { echo "scale=0; $SIZE / 1048576 / $1" | bc; }
ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }
for k in scemu_sparse qemu_sparse scemu_full qemu_full scemu_tls_full scemu_tls_sparse; do
  declare "m_$k=$(median "${times[$k]}")"
done

{
  echo "## NBD block status and TLS (\`bench/nbd-sparse.sh\`, $(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Volume: scemu RAID-5 of 4 x $DISK_SIZE mapped member files under the snapshot volume, $SIZE bytes"
  echo "($(( SIZE >> 20 )) MiB), $DATA_MIB MiB written by qemu-io in 8 extents, the rest never written;"
  echo "\`nbdinfo --map\` gives $MAP_LINES extents, $(( DATA_BYTES >> 20 )) MiB of them data (RAID-5 parity"
  echo "rows round the written extents up to whole rows: $(( DATA_BYTES >> 10 )) KiB). Reference: \`qemu-nbd -r -t -f raw\` ($(qemu-nbd --version | head -1))"
  echo "on a raw copy of the volume (nbdcopy, then \`fallocate -d\`: ${REF_ALLOCATED} KiB allocated). Client:"
  echo "$(nbdcopy --version | head -1), destination \`null:\`, defaults otherwise. $RUNS interleaved runs, median"
  echo "seconds (all runs in brackets); MiB/s = volume size / time. $(nproc) vCPUs shared with other builds, load"
  echo "average $LOAD_START at start, $(load) at the end."
  echo
  echo "| copy | scemu s | scemu MiB/s | qemu-nbd s | qemu-nbd MiB/s | scemu / qemu-nbd time |"
  echo "|---|---|---|---|---|---|"
  echo "| block status (holes skipped) | $m_scemu_sparse [${times[scemu_sparse]# }] | $(mibs "$m_scemu_sparse") | $m_qemu_sparse [${times[qemu_sparse]# }] | $(mibs "$m_qemu_sparse") | $(ratio "$m_scemu_sparse" "$m_qemu_sparse") |"
  echo "| \`--no-extents\` (every byte) | $m_scemu_full [${times[scemu_full]# }] | $(mibs "$m_scemu_full") | $m_qemu_full [${times[qemu_full]# }] | $(mibs "$m_qemu_full") | $(ratio "$m_scemu_full" "$m_qemu_full") |"
  echo
  echo "| scemu, \`--no-extents\` | s | MiB/s |"
  echo "|---|---|---|"
  echo "| plain \`nbd://\` | $m_scemu_full [${times[scemu_full]# }] | $(mibs "$m_scemu_full") |"
  echo "| TLS \`nbds://\` | $m_scemu_tls_full [${times[scemu_tls_full]# }] | $(mibs "$m_scemu_tls_full") |"
  echo "| TLS / plain time | $(ratio "$m_scemu_tls_full" "$m_scemu_full") | |"
  echo "| TLS with block status | $m_scemu_tls_sparse [${times[scemu_tls_sparse]# }] | $(mibs "$m_scemu_tls_sparse") |"
} | tee "$OUT/nbd-sparse.md"
