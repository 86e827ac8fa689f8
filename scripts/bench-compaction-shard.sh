#!/usr/bin/env bash
# Bounded disk and restart time of a real shard under log compaction (issue 10's must-show):
# starts `respawn up` (1+1+1, three member processes), overwrites KEYS keys WRITES times with
# redis-benchmark (SET key:__rand_int__, VALUE_BYTES-byte values, pipelined), lets snapshots
# settle, then prints each member's disk use by directory against its live data, and restarts
# the primary, then the backup (kill -9; the supervisor starts each again) to time how long each
# takes from the kill to serving with the shard's commit index applied, with the member's own
# figures for each phase of its start (INFO respawn_restart_*).
#
#   scripts/bench-compaction-shard.sh [WRITES=10000000] [KEYS=100000] [VALUE_BYTES=100]
#
# Environment: PORT (first RESP port, default 7479), SNAPSHOT_ENTRIES (default: the member
# default), MEMBER_JAVA_OPTS (the members' JVM options instead of the launcher's, e.g. to attach a
# profiler), RESTART (which members to kill and time, in turn: 1 primary, 2 backup, 3 witness; default "1 2"). Needs redis-benchmark and redis-cli. Prints `uptime` next to the figures.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
writes=${1:-10000000}
keys=${2:-100000}
vbytes=${3:-100}
port=${PORT:-7479}
data=$(mktemp -d -t respawn-compaction-shard.XXXXXX)
extra=()
if [ -n "${SNAPSHOT_ENTRIES:-}" ]; then extra+=(--snapshot-entries "$SNAPSHOT_ENTRIES"); fi
if [ -n "${MEMBER_JAVA_OPTS:-}" ]; then extra+=(--member-java-opts "$MEMBER_JAVA_OPTS"); fi
"$root/bin/respawn" up --port "$port" --data "$data" --shape 1+1+1 --restart-delay-ms 100 \
    "${extra[@]}" > "$data/up.out" 2>&1 &
up=$!
cleanup() { kill "$up" 2>/dev/null || true; wait "$up" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 600); do
  grep -q "serving the shard" "$data/up.out" 2>/dev/null && break
  sleep 0.5
done
grep -q "serving the shard" "$data/up.out" || { cat "$data/up.out"; exit 1; }
until [ "$(redis-cli -p "$port" set bench:ready 1 2>/dev/null)" = "OK" ]; do sleep 0.2; done
redis-cli -p "$port" del bench:ready > /dev/null
echo "load before: $(uptime)"
t0=$(date +%s.%N)
# in rounds of 500,000: redis-benchmark stops at its first error reply (a MOVED while the
# primary's lease lapses on a loaded machine), and such a round is run again
chunk=500000
done_writes=0
errors=0
while [ "$done_writes" -lt "$writes" ]; do
  n=$(( writes - done_writes < chunk ? writes - done_writes : chunk ))
  out=$(redis-benchmark -p "$port" -t set -n "$n" -r "$keys" -d "$vbytes" -c 8 -P 16 -q 2>&1 \
      | tr '\r' '\n' | grep -v '^$' | tail -2 || true)
  if echo "$out" | grep -q "Error"; then
    errors=$((errors + 1))
    sleep 0.5
    continue
  fi
  done_writes=$((done_writes + n))
done
t1=$(date +%s.%N)
echo "$done_writes writes in rounds ($errors rounds cut short by an error reply and run again)"
echo "writes took $(echo "$t1 - $t0" | bc) s; load after: $(uptime)"
sleep 10 # the last snapshots are kept once durable on the shard
live_keys=$(redis-cli -p "$port" dbsize)
keylen=16 # "key:" + 12 digits
live=$((live_keys * (keylen + vbytes)))
seg=$((128 << 20)) # the largest segment size on a member (state engine; replica log: 64 MiB)
bound=$((3 * live + 2 * seg))
printf "live data: %d keys x (%d + %d) bytes = %d bytes; bound 3x live + 2 x 128 MiB = %d\n" \
    "$live_keys" "$keylen" "$vbytes" "$live" "$bound"
printf "%-7s %12s %12s %12s %12s %12s %s\n" member replica snapshot state backup total "within bound"
ok=1
for n in 1 2 3; do
  d="$data/node-$n"
  sizes=()
  total=0
  for sub in replica snapshot state backup; do
    s=$( [ -d "$d/$sub" ] && du -sb "$d/$sub" | cut -f1 || echo 0)
    sizes+=("$s")
    total=$((total + s))
  done
  within=yes
  [ "$total" -le "$bound" ] || { within=NO; ok=0; }
  printf "node-%-2d %12d %12d %12d %12d %12d %s\n" "$n" "${sizes[@]}" "$total" "$within"
done
for n in 1 2 3; do
  redis-cli -p $((port + n - 1)) info shard | tr -d '\r' \
      | grep -E "^respawn_(snapshot_index|snapshot_bytes|snapshot_kept|snapshot_capture_ms_last|log_compacted_through|applied_index):" \
      | tr '\n' ' ' | sed "s/^/node-$n: /"
  echo
done
# restart members one at a time: kill -9, the supervisor starts it again at once; each is
# timed from the kill until it has applied the shard's commit index again, and its own figures
# (INFO respawn_restart_*: start-up, opening its stores, loading its image, replaying its log
# tail) are printed with the log lines they come from
for restart in ${RESTART:-1 2}; do
  member_port=$((port + restart - 1))
  pid=$(redis-cli -p "$member_port" info server | tr -d '\r' | grep '^process_id:' | cut -d: -f2)
  commit=0
  for p in "$port" $((port + 1)) $((port + 2)); do
    c=$(redis-cli -p "$p" info shard 2>/dev/null | tr -d '\r' | grep '^respawn_commit_index:' \
        | cut -d: -f2 || true)
    [ -n "$c" ] && [ "$c" -gt "$commit" ] && commit=$c
  done
  echo "load before restarting member $restart: $(uptime)"
  kill -9 "$pid"
  r0=$(date +%s.%N)
  while :; do
    info=$(redis-cli -p "$member_port" info shard 2>/dev/null | tr -d '\r' || true)
    applied=$(echo "$info" | grep '^respawn_applied_index:' | cut -d: -f2 || true)
    replay=$(echo "$info" | grep '^respawn_restart_replay_ms:' | cut -d: -f2 || true)
    if [ -n "$applied" ] && [ "$applied" -ge "$commit" ] && [ "${replay:--1}" -ge 0 ]; then
      break
    fi
    if [ "$(echo "$(date +%s.%N) - $r0 > 300" | bc)" = 1 ]; then
      echo "member $restart did not catch up within 300 s"; break
    fi
    sleep 0.05
  done
  r1=$(date +%s.%N)
  log="$data/node-$restart/respawn.log"
  echo "member $restart restart: kill -9 to applied index $commit in $(echo "$r1 - $r0" | bc) s" \
      "(JVM start included)"
  grep -E "snapshot image at index|backup store recovered|restart: |serving RESP" "$log" \
      | tail -4
  echo "$info" | grep -E "^respawn_restart_|^respawn_snapshot_index:" | tr '\n' ' '
  echo
  echo "load after: $(uptime)"
  sleep 5 # let the shard settle (a restarted primary takes leadership back)
done
[ "$ok" = 1 ] && echo "disk bound holds on every member" || echo "DISK BOUND EXCEEDED"
