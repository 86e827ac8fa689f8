#!/usr/bin/env bash
# Memory per key of each member of a real replicated shard (primary, backup and witness, each its
# own `respawn node` process on loopback, with a 3 s election timeout so that a loaded machine
# does not fail over mid-run; a run whose term moved is refused): warms the shard up with WARM
# keys (so every member's JVM has touched its young generation and compiled its apply path),
# waits until every member applied the same index, reads each member's resident set (VmRSS),
# loads KEYS keys of 16 bytes ("key:%012d") with VALUE_BYTES-byte values into the primary
# through redis-cli --pipe, waits again and reads again.
# Reports each member's RSS growth per key and its INFO respawn_keys_unknown_bytes (the witness
# table's memory). Then, in the same run, Redis (redis-server, persistence off) gets the same warm-up
# and load: its RSS growth and used_memory growth per key are the row to compare the primary with.
#
#   scripts/bench-shard-memory.sh [-n KEYS] [-d VALUE_BYTES] [-w WARM] [-o OUT_DIR] [-k] [-m]
#                                 [-c 'KEY = VALUE']...
#
# -k keeps the members' data directories and logs (printed at the end) instead of deleting them.
# -m runs the members with native memory tracking (-XX:NativeMemoryTracking=summary added to their
#    JVM options) and saves each member's `jcmd VM.native_memory summary` and `GC.heap_info`,
#    before and after the load, and after it the live objects (`GC.class_histogram`, a full
#    collection; read after the RSS figures), in the work directory (implies -k).
# -c adds a line to every member's respawn.conf (repeatable), e.g. -c 'log-cache-bytes = 1048576'.
#
# Members run with the launcher's default JVM options unless RESPAWN_JAVA_OPTS is set (see
# bin/respawn). Writes OUT_DIR/shard-memory-per-key.csv and prints a Markdown table. Stops every
# member it started by pid.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keys=1000000 size=100 warm=200000 out="$root/docs/bench" keep=0 nmt=0 conf_extra=""
while getopts "n:d:w:o:kmc:" opt; do
  case "$opt" in
    n) keys="$OPTARG" ;; d) size="$OPTARG" ;; w) warm="$OPTARG" ;; o) out="$OPTARG" ;;
    k) keep=1 ;; m) nmt=1; keep=1 ;; c) conf_extra+="$OPTARG"$'\n' ;; *) exit 2 ;;
  esac
done
if [ "$nmt" = 1 ]; then
  # the launcher's defaults (bin/respawn) plus tracking
  export RESPAWN_JAVA_OPTS="${RESPAWN_JAVA_OPTS:-$(sed -n 's/^default_opts="\(.*\)"$/\1/p' "$root/bin/respawn")} -XX:NativeMemoryTracking=summary"
fi
"$root/scripts/install-test-deps.sh"
mkdir -p "$out" "$root/data"
work="$(mktemp -d "$root/data/bench-shard-memory.XXXXXX")"
declare -A pid
cleanup() {
  for n in "${!pid[@]}"; do kill "${pid[$n]}" 2>/dev/null || true; done
  for n in "${!pid[@]}"; do wait "${pid[$n]}" 2>/dev/null || true; done
  if [ "$keep" = 1 ]; then echo "kept the members' data and logs in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# A base port whose three RESP ports and three peer ports (+10000) are all free.
base="$(python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 40000)
    try:
        for q in (p, p + 1, p + 2, p + 10000, p + 10001, p + 10002):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass
PY
)"
rss_bytes() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }
info_field() { # port field
  redis-cli -p "$1" info | tr -d '\r' | awk -F: -v f="$2" '$1 == f {print $2}'
}
settle() { # until every member applied the same index twice in a row, 1 s apart
  local last="" now
  for _ in $(seq 1 600); do
    now="$(for n in 0 1 2; do info_field $((base + n)) respawn_applied_index; done | tr '\n' ' ')"
    if [ "$now" = "$last" ] && [ "$(echo "$now" | tr ' ' '\n' | sort -u | grep -c .)" = 1 ]; then
      return 0
    fi
    last="$now"; sleep 1
  done
  echo "members did not settle: applied $now" >&2; return 1
}
load() { # prefix count
  if ! load_pipe "$@"; then
    echo "loading $2 $1 keys got errors (did leadership move? see the members' logs)" >&2
    exit 1
  fi
}
load_pipe() { # prefix count
  python3 - "$1" "$2" "$size" <<'PY' | redis-cli -p "$base" --pipe >&2
import sys
prefix, n, d = sys.argv[1].encode(), int(sys.argv[2]), int(sys.argv[3])
value = b"x" * d
key_len = len(prefix) + 12
head = b"*3\r\n$3\r\nSET\r\n$" + str(key_len).encode() + b"\r\n"
tail = b"\r\n$" + str(d).encode() + b"\r\n" + value + b"\r\n"
out = sys.stdout.buffer
for i in range(n):
    out.write(head + prefix + b"%012d" % i + tail)
PY
}

"$root/bin/respawn" version >/dev/null 2>&1 || true  # builds on first use
for n in 1 2 3; do
  mkdir -p "$work/node-$n"
  cat > "$work/node-$n/respawn.conf" <<CONF
cluster-id = bench-shard-memory
node-id = $n
data = $work/node-$n
bind = 127.0.0.1
member.1 = primary 127.0.0.1:$base 127.0.0.1:$((base + 10000))
member.2 = backup 127.0.0.1:$((base + 1)) 127.0.0.1:$((base + 10001))
member.3 = witness 127.0.0.1:$((base + 2)) 127.0.0.1:$((base + 10002))
election-timeout-ms = 3000
heartbeat-interval-ms = 50
lease-ms = 2000
CONF
  printf '%s' "$conf_extra" >> "$work/node-$n/respawn.conf"
  "$root/bin/respawn" node --config "$work/node-$n/respawn.conf" > "$work/node-$n/respawn.log" 2>&1 &
  pid[$n]="$!"
done
for _ in $(seq 1 1200); do  # the configured primary leads and serves
  [ "$(info_field "$base" respawn_status 2>/dev/null)" = leader ] \
      && [ "$(info_field "$base" respawn_recovering)" = 0 ] && break
  sleep 0.1
done
[ "$(info_field "$base" respawn_status)" = leader ] || { echo "member 1 does not lead after 120 s" >&2; exit 1; }
term0="$(info_field "$base" respawn_term)"
load "warm:" "$warm"
settle
memory_report() { # label
  [ "$nmt" = 1 ] || return 0
  source "$root/scripts/find-jdk.sh" >/dev/null
  for n in 1 2 3; do
    "$JAVA_HOME/bin/jcmd" "${pid[$n]}" VM.native_memory summary > "$work/node-$n/nmt-$1.txt" 2>&1 || true
    "$JAVA_HOME/bin/jcmd" "${pid[$n]}" GC.heap_info > "$work/node-$n/heap-$1.txt" 2>&1 || true
    grep -E '^(VmRSS|RssAnon|RssFile|RssShmem)' "/proc/${pid[$n]}/status" > "$work/node-$n/rss-$1.txt"
  done
}
live_report() { # after the RSS figures were read: live objects (a full collection), the heap after
  [ "$nmt" = 1 ] || return 0
  for n in 1 2 3; do
    "$JAVA_HOME/bin/jcmd" "${pid[$n]}" GC.class_histogram 2>&1 | head -40 > "$work/node-$n/histogram-after.txt" || true
    "$JAVA_HOME/bin/jcmd" "${pid[$n]}" GC.heap_info > "$work/node-$n/heap-after-full-gc.txt" 2>&1 || true
  done
}
declare -A rss0
for n in 1 2 3; do rss0[$n]="$(rss_bytes "${pid[$n]}")"; done
memory_report before
load "key:" "$keys"
settle
memory_report after
term1="$(info_field "$base" respawn_term)"
if [ "$(info_field "$base" respawn_status)" != leader ] || [ "$term1" != "$term0" ]; then
  echo "leadership moved during the run (term $term0 -> $term1): not a measurement" >&2; exit 1
fi
count="$(redis-cli -p "$base" dbsize | tr -d '\r')"
if [ "$count" != "$((keys + warm))" ]; then
  echo "the primary holds $count keys after loading $((keys + warm))" >&2; exit 1
fi
# Redis, same keys and values, in the same run (the members keep running: the machine's state is
# the same, and their RSS was read already)
redis_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save "" --appendonly no \
    --daemonize no --logfile "$work/redis/redis.log" &
pid[redis]="$!"
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis_load() { # prefix count
  python3 - "$1" "$2" "$size" <<'PY' | redis-cli -p "$redis_port" --pipe >&2
import sys
prefix, n, d = sys.argv[1].encode(), int(sys.argv[2]), int(sys.argv[3])
value = b"x" * d
key_len = len(prefix) + 12
head = b"*3\r\n$3\r\nSET\r\n$" + str(key_len).encode() + b"\r\n"
tail = b"\r\n$" + str(d).encode() + b"\r\n" + value + b"\r\n"
out = sys.stdout.buffer
for i in range(n):
    out.write(head + prefix + b"%012d" % i + tail)
PY
}
redis_load "warm:" "$warm"
sleep 1
redis_rss0="$(rss_bytes "${pid[redis]}")" redis_used0="$(info_field "$redis_port" used_memory)"
redis_load "key:" "$keys"
sleep 1
redis_rss1="$(rss_bytes "${pid[redis]}")" redis_used1="$(info_field "$redis_port" used_memory)"
redis_count="$(redis-cli -p "$redis_port" dbsize | tr -d '\r')"
if [ "$redis_count" != "$((keys + warm))" ]; then
  echo "redis holds $redis_count keys after loading $((keys + warm))" >&2; exit 1
fi
csv="$out/shard-memory-per-key.csv"
echo "member,role,value_bytes,keys,rss_before,rss_after,rss_growth_per_key,keys_unknown,keys_unknown_bytes" > "$csv"
for n in 1 2 3; do
  port=$((base + n - 1))
  rss1="$(rss_bytes "${pid[$n]}")"
  role="$(info_field "$port" respawn_config_role)"
  unknown="$(info_field "$port" respawn_keys_unknown)"
  unknown_bytes="$(info_field "$port" respawn_keys_unknown_bytes)"
  awk -v m="$n" -v r="$role" -v d="$size" -v k="$keys" -v a="${rss0[$n]}" -v b="$rss1" \
      -v u="$unknown" -v ub="${unknown_bytes:-0}" \
      'BEGIN {printf "%d,%s,%d,%d,%d,%d,%.1f,%s,%s\n", m, r, d, k, a, b, (b-a)/k, u, ub}' >> "$csv"
done
live_report
awk -v d="$size" -v k="$keys" -v a="$redis_rss0" -v b="$redis_rss1" -v u0="$redis_used0" \
    -v u1="$redis_used1" \
    'BEGIN {printf "redis,redis,%d,%d,%d,%d,%.1f,,used_memory %.1f B/key\n", d, k, a, b, (b-a)/k, (u1-u0)/k}' \
    >> "$csv"
{
  echo "| member | role | value bytes | keys loaded | RSS growth / key | RSS before → after (MiB) | keys unknown | witness table bytes |"
  echo "|---|---|---|---|---|---|---|---|"
  tail -n +2 "$csv" | awk -F, '{printf "| %s | %s | %s | %s | %.1f | %.0f → %.0f | %s | %s |\n", $1, $2, $3, $4, $7, $5/1048576, $6/1048576, $8, $9}'
  awk -F, 'NR > 1 {g[$2] = $7} END {
    printf "\nprimary / redis %.2f, backup / primary %.2f, witness / primary %.3f (RSS growth per key)\n",
        g["primary"] / g["redis"], g["backup"] / g["primary"], g["witness"] / g["primary"]}' "$csv"
} | tee "$out/shard-memory-per-key.md"
echo "wrote $csv" >&2
echo "load: $(uptime)" >&2
