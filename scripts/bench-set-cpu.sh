#!/usr/bin/env bash
# Where a single-node SET's CPU goes, client and server, side by side with Redis: starts Redis
# (AOF, appendfsync everysec) and a Respawn single node (ORDERED acks, compaction off, the
# launcher's options), then runs interleaved rounds of `redis-benchmark -t set -c 50 -P 1` against
# each and reports, per round: requests per second, redis-benchmark's CPU time per request and
# context switches per request (perf stat), and the server process's CPU time per request
# (/proc/PID/stat). With -s it also counts the system calls per request of the client and of the
# server in one extra round each (perf's syscall tracepoints; slows both by a few percent).
#
# Why: redis-benchmark is single-threaded; when it runs at a full core, throughput is 1 / its CPU
# time per request, and everything else on the machine (the server's threads on a two-core
# machine) competes with it for the other core and for caches.
#
#   scripts/bench-set-cpu.sh [-n requests] [-k rounds] [-r keyspace] [-d value-bytes] [-s] [-o out-dir]
#
# Writes OUT_DIR/set-cpu.csv (round,server,rps,client_us_per_op,client_ctxsw_per_op,
# server_us_per_op). Needs perf (Debian: linux-perf) and redis-tools / redis-server.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requests=500000 rounds=4 keyspace=1000000 value_bytes=100 syscalls=0 out="$root/docs/bench"
while getopts "n:k:r:d:so:" opt; do
  case "$opt" in
    n) requests="$OPTARG" ;; k) rounds="$OPTARG" ;; r) keyspace="$OPTARG" ;;
    d) value_bytes="$OPTARG" ;; s) syscalls=1 ;; o) out="$OPTARG" ;; *) exit 2 ;;
  esac
done
"$root/scripts/install-test-deps.sh"
command -v perf >/dev/null || { echo "bench-set-cpu: perf not found (Debian package linux-perf)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "bench-set-cpu: redis-server not found (Debian package redis-server)" >&2; exit 1; }
mkdir -p "$out" "$root/data"
source "$root/scripts/bench-lib.sh"
bench_work bench-set-cpu
redis_port="$(free_port)" respawn_port="$(free_port)"
while [ "$respawn_port" = "$redis_port" ]; do respawn_port="$(free_port)"; done

"$root/bin/respawn" version >/dev/null 2>&1 || true  # builds on first use
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly yes \
    --appendfsync everysec --auto-aof-rewrite-percentage 0 --daemonize no \
    --logfile "$work/redis.log" &
pids+=("$!"); redis_pid=$!
"$root/bin/respawn" server --port "$respawn_port" --data "$work/respawn" --durability ORDERED \
    --compaction-interval-ms 0 > "$work/respawn.log" 2>&1 &
pids+=("$!"); respawn_pid=$!  # the launcher execs java: this is the JVM's pid
for port in "$redis_port" "$respawn_port"; do
  for _ in $(seq 1 300); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$port" ping >/dev/null || { echo "bench-set-cpu: no server on port $port" >&2; exit 1; }
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second="$(getconf CLK_TCK)"
for port in "$redis_port" "$respawn_port"; do  # warm-up (the JIT, the key space)
  redis-benchmark -p "$port" -t set -n 300000 -c 50 -r "$keyspace" -d "$value_bytes" -q >/dev/null 2>&1
done
csv="$out/set-cpu.csv"
echo "round,server,rps,client_us_per_op,client_ctxsw_per_op,server_us_per_op" > "$csv"
for round in $(seq 1 "$rounds"); do
  for server in redis-everysec respawn-ordered; do
    if [ "$server" = redis-everysec ]; then port=$redis_port pid=$redis_pid; else port=$respawn_port pid=$respawn_pid; fi
    before="$(cpu_ticks "$pid")"
    perf stat -x, -e task-clock,context-switches -o "$work/perf.txt" \
      redis-benchmark -p "$port" -t set -n "$requests" -c 50 -r "$keyspace" -d "$value_bytes" \
      --csv > "$work/bench.csv" 2>/dev/null
    after="$(cpu_ticks "$pid")"
    rps="$(tail -1 "$work/bench.csv" | tr -d '"' | cut -d, -f2)"
    task_ms="$(grep task-clock "$work/perf.txt" | cut -d, -f1)"
    switches="$(grep context-switches "$work/perf.txt" | cut -d, -f1)"
    awk -v r="$round" -v s="$server" -v rps="$rps" -v t="$task_ms" -v c="$switches" \
        -v n="$requests" -v d="$((after - before))" -v hz="$ticks_per_second" \
        'BEGIN {printf "%s,%s,%.0f,%.2f,%.4f,%.2f\n", r, s, rps, t * 1000 / n, c / n, d * 1e6 / hz / n}' \
      | tee -a "$csv"
  done
done
if [ "$syscalls" = 1 ]; then
  events=syscalls:sys_enter_epoll_wait,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_pwrite64
  for server in redis-everysec respawn-ordered; do
    if [ "$server" = redis-everysec ]; then port=$redis_port pid=$redis_pid; else port=$respawn_port pid=$respawn_pid; fi
    perf stat -x, -e "$events" -p "$pid" -o "$work/server-sys.txt" &
    perf_pid=$!
    sleep 0.3
    perf stat -x, -e "$events" -o "$work/client-sys.txt" redis-benchmark -p "$port" -t set \
      -n "$requests" -c 50 -r "$keyspace" -d "$value_bytes" -q >/dev/null 2>&1
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
    for side in client server; do
      printf "%s %s system calls per request:" "$server" "$side"
      grep -v '^#' "$work/$side-sys.txt" | grep . | awk -F, -v n="$requests" \
        '{e = $3; sub("syscalls:sys_enter_", "", e); if ($1 + 0 > 0) printf " %s %.3f", e, $1 / n}'
      echo
    done
  done
fi
echo "wrote $csv" >&2
