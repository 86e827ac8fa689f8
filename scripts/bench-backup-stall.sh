#!/usr/bin/env bash
# Writes through a stall of the backup, with and without a witness standing in for it.
#
#   scripts/bench-backup-stall.sh [-k ROUNDS] [-s STALL_MS] [-n REQUESTS] [-o OUTDIR]
#
# Per round, for each setting of stand-in-after-ms (150, the default, and 0: no stand-in), the
# two alternating which goes first: a fresh `respawn up` shard (1+1+1), redis-benchmark SETs
# (-c 8, 100-byte values, REQUESTS of them) against its primary, and 1 s into them a SIGSTOP of
# the backup for STALL_MS (default 2000), then SIGCONT. redis-benchmark reports the slowest
# request, which is how long the stall held a write. Writes OUTDIR/backup-stall.csv
# (setting,round,requests_per_sec,p50_ms,p99_ms,max_ms) and prints the medians per setting.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/bench-lib.sh"
rounds=3
stall_ms=2000
requests=200000
out="$root/docs/bench"
while getopts "k:s:n:o:" opt; do
  case "$opt" in
    k) rounds="$OPTARG" ;;
    s) stall_ms="$OPTARG" ;;
    n) requests="$OPTARG" ;;
    o) out="$OPTARG" ;;
    *) echo "usage: $0 [-k ROUNDS] [-s STALL_MS] [-n REQUESTS] [-o OUTDIR]" >&2; exit 2 ;;
  esac
done
command -v redis-benchmark > /dev/null || {
  echo "bench-backup-stall: redis-benchmark not found; install redis-tools" >&2; exit 1; }
"$root/bin/respawn" version > /dev/null
bench_work backup-stall
mkdir -p "$out"
csv="$out/backup-stall.csv"
echo "setting,round,requests_per_sec,p50_ms,p99_ms,max_ms" > "$csv"

# one_run SETTING ROUND: a shard with stand-in-after-ms SETTING, SETs through a backup stall.
one_run() {
  local setting="$1" round="$2" port data up_pid backup_pid result
  port="$(free_port)"
  data="$work/$setting-$round"
  "$root/bin/respawn" up --port "$port" --data "$data" --stand-in-after-ms "$setting" \
    > "$work/up-$setting-$round.log" 2>&1 &
  up_pid=$!
  pids+=("$up_pid")
  for _ in $(seq 1 600); do
    grep -q '^respawn: serving' "$work/up-$setting-$round.log" 2>/dev/null && break
    sleep 0.1
  done
  # the configured primary leads once it answers SET on its own port
  for _ in $(seq 1 300); do
    [ "$(redis-cli -p "$port" set probe 1 2>/dev/null)" = "OK" ] && break
    sleep 0.1
  done
  backup_pid="$(redis-cli -p $((port + 1)) info server | tr -d '\r' \
    | sed -n 's/^process_id://p')"
  (sleep 1; kill -STOP "$backup_pid"; sleep "$(awk "BEGIN {print $stall_ms / 1000}")";
    kill -CONT "$backup_pid") &
  local stopper=$!
  result="$(redis-benchmark -p "$port" -t set -n "$requests" -c 8 -r 100000 -d 100 2>/dev/null \
    | tr '\r' '\n')"
  wait "$stopper" || true
  kill "$up_pid" 2>/dev/null || true
  wait "$up_pid" 2>/dev/null || true
  local rps p50 p99 max
  rps="$(echo "$result" | sed -n 's/^ *throughput summary: \([0-9.]*\) requests per second/\1/p' \
    | tail -1)"
  # "latency summary (msec):" then a header line and a line "avg min p50 p95 p99 max"
  read -r _ _ p50 _ p99 max < <(echo "$result" | grep -A2 'latency summary' | tail -1)
  echo "$setting,$round,$rps,$p50,$p99,$max" | tee -a "$csv"
}

for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then
    one_run 150 "$round"; one_run 0 "$round"
  else
    one_run 0 "$round"; one_run 150 "$round"
  fi
done
python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for setting in ("150", "0"):
    mine = [r for r in rows if r["setting"] == setting]
    med = lambda k: statistics.median(float(r[k]) for r in mine)
    print(f"stand-in-after-ms {setting}: {med('requests_per_sec'):,.0f} SET/s, "
          f"p99 {med('p99_ms'):.2f} ms, slowest {med('max_ms'):.0f} ms (medians of {len(mine)})")
PY
