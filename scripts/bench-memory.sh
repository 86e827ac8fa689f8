#!/usr/bin/env bash
# Memory per key, Respawn against Redis, both in the same run: for each value size, starts a
# fresh Respawn server and a fresh Redis (no persistence, as memory is the question), warms both
# up with traffic that stores nothing (so the JVM's young generation and JIT are already in the
# baseline, as Redis's allocator arenas are), reads the baseline, loads KEYS keys of 16 bytes
# ("key:%012d", redis-benchmark's form) with VALUE_BYTES-byte values through redis-cli --pipe,
# and reads again. Reports INFO used_memory and the process's resident set (VmRSS) growth, both
# divided by the keys.
#
#   scripts/bench-memory.sh [-n KEYS] [-d "VALUE_BYTES ..."] [-o OUT_DIR]
#
# Respawn runs with the launcher's default JVM options unless RESPAWN_JAVA_OPTS is set (see
# bin/respawn). Writes OUT_DIR/memory-per-key.csv and prints a Markdown table. Every process it
# starts is stopped by pid.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keys=1000000 sizes="100 496" out="$root/docs/bench"
while getopts "n:d:o:" opt; do
  case "$opt" in
    n) keys="$OPTARG" ;; d) sizes="$OPTARG" ;; o) out="$OPTARG" ;; *) exit 2 ;;
  esac
done
"$root/scripts/install-test-deps.sh"
mkdir -p "$out" "$root/data"
source "$root/scripts/bench-lib.sh"
bench_work bench-memory

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
wait_ready() { # port
  for _ in $(seq 1 300); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on port $1 did not answer PING within 30 s" >&2; return 1
}
rss_bytes() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }
used_memory() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" {print $2}'; }
# RESP for KEYS "SET key:%012d <value>" commands, streamed.
load() { # port value_bytes
  python3 - "$keys" "$2" <<'PY' | redis-cli -p "$1" --pipe >&2
import sys
n, d = int(sys.argv[1]), int(sys.argv[2])
value = b"x" * d
head = b"*3\r\n$3\r\nSET\r\n$16\r\n"
tail = b"\r\n$" + str(d).encode() + b"\r\n" + value + b"\r\n"
out = sys.stdout.buffer
for i in range(n):
    out.write(head + b"key:%012d" % i + tail)
PY
}

csv="$out/memory-per-key.csv"
echo "server,value_bytes,keys,used_memory_before,used_memory_after,used_memory_per_key,rss_before,rss_after,rss_growth_per_key" > "$csv"
"$root/bin/respawn" version >/dev/null 2>&1 || true  # builds on first use
for d in $sizes; do
  for server in respawn redis; do
    port="$(free_port)"
    if [ "$server" = respawn ]; then
      "$root/bin/respawn" server --port "$port" --data "$work/respawn-$d" --compaction-interval-ms 0 \
          > "$work/respawn-$d.log" 2>&1 &
    else
      mkdir -p "$work/redis-$d"
      redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis-$d" --save "" \
          --appendonly no --daemonize no --logfile "$work/redis-$d.log" &
    fi
    pid="$!"
    pids+=("$pid")
    wait_ready "$port"
    # Warm-up that stores nothing: GETs of absent keys, pipelined.
    redis-benchmark -p "$port" -t get -n 1000000 -r 1000000 -P 16 -q >/dev/null 2>&1
    sleep 1
    used0="$(used_memory "$port")" rss0="$(rss_bytes "$pid")"
    load "$port" "$d"
    sleep 1
    used1="$(used_memory "$port")" rss1="$(rss_bytes "$pid")"
    count="$(redis-cli -p "$port" dbsize | tr -d '\r')"
    if [ "$count" != "$keys" ]; then
      echo "$server holds $count keys after loading $keys" >&2; exit 1
    fi
    awk -v s="$server" -v d="$d" -v n="$keys" -v u0="$used0" -v u1="$used1" -v r0="$rss0" -v r1="$rss1" \
      'BEGIN {printf "%s,%d,%d,%d,%d,%.1f,%d,%d,%.1f\n", s, d, n, u0, u1, (u1-u0)/n, r0, r1, (r1-r0)/n}' >> "$csv"
    tail -n 1 "$csv" >&2
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
done
{
  echo "| server | value bytes | keys | used_memory / key | RSS growth / key | RSS before → after (MiB) |"
  echo "|---|---|---|---|---|---|"
  tail -n +2 "$csv" | awk -F, '{printf "| %s | %s | %s | %.1f | %.1f | %.0f → %.0f |\n", $1, $2, $3, $6, $9, $7/1048576, $8/1048576}'
} | tee "$out/memory-per-key.md"
echo "wrote $csv" >&2
