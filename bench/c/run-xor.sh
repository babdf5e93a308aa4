#!/bin/sh
# Builds and runs the C parity-XOR reference (bench/c/xor.c) so its figures come from the same
# machine state as the JMH run next to it. The binary goes to ${TMPDIR:-/tmp}, never into git.
# Usage: bench/c/run-xor.sh [seconds-per-case]
#        bench/c/run-xor.sh --lib OUT.so     (only build the shared library for XorInterleaved)
set -e
dir=$(cd "$(dirname "$0")" && pwd)
if [ "$1" = "--lib" ]; then
  gcc -O3 -march=native -DXOR_LIB -shared -fPIC -o "$2" "$dir/xor.c"
  exit 0
fi
bin=${TMPDIR:-/tmp}/scemu-xor-$$
gcc -O3 -march=native -o "$bin" "$dir/xor.c"
echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" "${1:-2}"
rm -f "$bin"
