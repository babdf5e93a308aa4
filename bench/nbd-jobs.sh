# Sourced by bench/nbd-fio.sh and bench/report.sh: the NBD comparison's port helpers and its fio
# jobs, so both measure the same five jobs the same way. The caller defines log().

# An unused loopback port from FIRST..FIRST+90 (FIRST+90 if all are taken).
nbd_free_port() { # first
  local p
  for p in $(seq "$1" $(( $1 + 90 ))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo $(( $1 + 90 ))
}

# Waits until something listens on PORT, at most SECONDS; fails otherwise.
nbd_wait_port() { # port seconds
  local i
  for i in $(seq 1 $(( $2 * 10 ))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# The five fio jobs on URI, time-based SECONDS each over the first SIZE_MIB MiB, JSON and logs in
# DIR as SERVER-JOB.json / .log (the names the report's renderer reads).
nbd_run_jobs() { # server uri dir seconds size_mib
  local server=$1 uri=$2 dir=$3 seconds=$4 size_mib=$5 spec name rw bs qd
  for spec in "randwrite-4k-qd1 randwrite 4k 1" "randwrite-4k-qd16 randwrite 4k 16" "write-1m-qd8 write 1m 8" \
              "randread-4k-qd1 randread 4k 1" "randread-4k-qd16 randread 4k 16"; do
    set -- $spec
    name=$1 rw=$2 bs=$3 qd=$4
    log "fio $server $name"
    fio --name="$server-$name" --ioengine=nbd --uri="$uri" --rw="$rw" --bs="$bs" --iodepth="$qd" \
      --size="${size_mib}m" --time_based --runtime="$seconds" --randseed=42 \
      --output-format=json --output="$dir/$server-$name.json" > "$dir/$server-$name.log" 2>&1 \
      || log "fio $server $name failed (see $dir/$server-$name.log)"
  done
}
