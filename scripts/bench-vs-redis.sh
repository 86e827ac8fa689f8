#!/usr/bin/env bash
# Side-by-side RESP benchmark: redis-benchmark against Respawn (ORDERED and DURABLE acks) and
# against Redis (persistence off, AOF appendfsync everysec, AOF appendfsync always), all started
# by this script on loopback, one after another in ONE run so the machine's state is shared.
#
#   scripts/bench-vs-redis.sh [-n REQUESTS] [-c CLIENTS] [-r KEYSPACE] [-d VALUE_BYTES]
#                             [-w WARMUP_REQUESTS] [-o OUT_DIR]
#
# Every server first gets the same unmeasured warm-up (-w requests of SET and GET, default
# 100000; 0 turns it off), so a JVM's JIT warm-up is not measured as throughput and every server
# starts the measured run with the same keys present.
# Also measures, in the same run, a loop doing one write + fsync per SET-sized record on the same
# disk (the baseline DURABLE acks are compared with). Writes OUT_DIR/redis-compare.csv (one row per server x test x pipeline depth), prints a
# Markdown table, and renders OUT_DIR/redis-compare.png. Every process it starts is stopped by pid.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requests=200000 clients=50 keyspace=1000000 value_bytes=100 warmup=100000 out="$root/docs/bench"
while getopts "n:c:r:d:w:o:" opt; do
  case "$opt" in
    n) requests="$OPTARG" ;; c) clients="$OPTARG" ;; r) keyspace="$OPTARG" ;;
    d) value_bytes="$OPTARG" ;; w) warmup="$OPTARG" ;; o) out="$OPTARG" ;; *) exit 2 ;;
  esac
done
"$root/scripts/install-test-deps.sh"
mkdir -p "$out"
# Under the project's (git-ignored) data directory, not /tmp: /tmp may be a tmpfs, where fsync
# costs nothing and DURABLE figures would mean nothing.
mkdir -p "$root/data"
work="$(mktemp -d "$root/data/bench-vs-redis.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }

wait_ready() { # port
  for _ in $(seq 1 300); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on port $1 did not answer PING within 30 s" >&2; return 1
}

stop_last() {
  local p="${pids[-1]}"
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
  unset 'pids[-1]'
}

csv="$out/redis-compare.csv"
echo "server,test,pipeline,requests_per_sec,p50_ms,p99_ms" > "$csv"

run_bench() { # label port
  local label="$1" port="$2"
  if [ "$warmup" -gt 0 ]; then
    redis-benchmark -p "$port" -t set,get -n "$warmup" -c "$clients" -r "$keyspace" \
        -d "$value_bytes" -q >/dev/null 2>&1
  fi
  for pipeline in 1 16; do
    # --csv columns: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    redis-benchmark -p "$port" -t set,get -n "$requests" -c "$clients" -r "$keyspace" -d "$value_bytes" \
        -P "$pipeline" --csv 2>/dev/null | tail -n +2 | tr -d '"' \
      | awk -F, -v s="$label" -v p="$pipeline" '{printf "%s,%s,%s,%s,%s,%s\n", s, $1, p, $2, $5, $7}' >> "$csv"
  done
  grep "^$label," "$csv" >&2
}

bench_respawn() { # label durability
  "$root/bin/respawn" version >/dev/null 2>&1 || true  # builds on first use
  local port; port="$(free_port)"
  "$root/bin/respawn" server --port "$port" --data "$work/respawn-$2" --durability "$2" \
      > "$work/respawn-$2.log" 2>&1 &
  pids+=("$!")
  wait_ready "$port"
  run_bench "$1" "$port"
  stop_last
}

bench_redis() { # label extra-args...
  local label="$1"; shift
  local port; port="$(free_port)"
  mkdir -p "$work/$label"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$work/$label" --save "" --daemonize no \
      --logfile "$work/$label.log" "$@" &
  pids+=("$!")
  wait_ready "$port"
  run_bench "$label" "$port"
  stop_last
}

# Baseline for DURABLE: one write + fsync per operation on the same disk, one writer, in order.
fsync_dir="$work/fsync-loop"
"$root/bin/respawn" bench storage --modes FSYNC_PER_WRITE --threads 1 --seconds 3 \
    --value-bytes "$value_bytes" --dir "$fsync_dir" --csv "$work/fsync.csv" >/dev/null
tail -n +2 "$work/fsync.csv" | awk -F, '{printf "fsync-per-write-loop,SET,1,%s,%.3f,%.3f\n", $3, $4/1000, $5/1000}' >> "$csv"
grep "^fsync-per-write-loop," "$csv" >&2

bench_respawn respawn-ordered ORDERED
bench_respawn respawn-durable DURABLE
bench_redis redis-nopersist --appendonly no
bench_redis redis-aof-everysec --appendonly yes --appendfsync everysec --auto-aof-rewrite-percentage 0
bench_redis redis-aof-always --appendonly yes --appendfsync always --auto-aof-rewrite-percentage 0

{
  echo "| server | test | pipeline | requests/s | p50 ms | p99 ms |"
  echo "|---|---|---|---|---|---|"
  tail -n +2 "$csv" | awk -F, '{printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6}'
} | tee "$out/redis-compare.md"
"$root/bin/respawn" bench chart --csv "$csv" --png "$out/redis-compare.png" \
  --title "redis-benchmark -c $clients -r $keyspace -d $value_bytes (requests/s)"
echo "wrote $csv and $out/redis-compare.png" >&2
