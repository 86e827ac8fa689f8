#!/usr/bin/env bash
# Did a change cost single-node throughput? Respawn built from another checkout ("before") and
# from this one ("after"), side by side with Redis (appendfsync everysec) in ONE run:
# redis-benchmark SET and GET without pipelining, interleaved rounds, medians. Use it where
# scripts/bench-vs-redis.sh's figures from another day cannot be compared (a loaded machine).
#
#   scripts/bench-ab.sh -b BEFORE_DIR [-n REQUESTS] [-c CLIENTS] [-k ROUNDS] [-o OUT_DIR]
#
# BEFORE_DIR is a checkout of the commit to compare with (for example
# `git archive <commit> | tar -x -C DIR`); its bin/respawn builds it on first use. Both Respawn
# servers run ORDERED with --compaction-interval-ms 0 (as Redis's AOF rewriting is off), with the
# launcher's JVM options. Each server first gets an unmeasured warm-up (300,000 SET and GET);
# then -k rounds (default 5) measure before, after, Redis in turn. Writes OUT_DIR/ab-rounds.csv
# and OUT_DIR/ab.md (medians, ranges, and each Respawn's median per-round ratio to Redis).
# Every process it starts is stopped by pid.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
before="" requests=100000 clients=50 rounds=5
out="$root/docs/bench"
while getopts "b:n:c:k:o:" opt; do
  case "$opt" in
    b) before="$(cd "$OPTARG" && pwd)" ;; n) requests="$OPTARG" ;; c) clients="$OPTARG" ;;
    k) rounds="$OPTARG" ;; o) out="$OPTARG" ;; *) exit 2 ;;
  esac
done
[ -x "$before/bin/respawn" ] || { echo "-b BEFORE_DIR: a checkout with bin/respawn" >&2; exit 2; }
"$root/scripts/install-test-deps.sh"
mkdir -p "$out" "$root/data"
source "$root/scripts/bench-lib.sh"
bench_work bench-ab

wait_ready() { # port
  for _ in $(seq 1 300); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on port $1 did not answer PING within 30 s" >&2; return 1
}

labels=() ports=()
for pair in "before:$before" "after:$root"; do
  label="${pair%%:*}" tree="${pair#*:}"
  "$tree/bin/respawn" version >/dev/null 2>&1 || true  # builds on first use
  port="$(free_port)"
  "$tree/bin/respawn" server --port "$port" --data "$work/$label" --compaction-interval-ms 0 \
      > "$work/$label.log" 2>&1 &
  pids+=("$!")
  wait_ready "$port"
  labels+=("$label") ports+=("$port")
done
port="$(free_port)"
mkdir -p "$work/redis"
redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis" --save "" --daemonize no \
    --logfile "$work/redis.log" --appendonly yes --appendfsync everysec \
    --auto-aof-rewrite-percentage 0 &
pids+=("$!")
wait_ready "$port"
labels+=("redis-aof-everysec") ports+=("$port")

for i in "${!labels[@]}"; do
  redis-benchmark -p "${ports[$i]}" -t set,get -n 300000 -c "$clients" -r 1000000 -d 100 -q \
      >/dev/null 2>&1
done
rounds_csv="$out/ab-rounds.csv"
echo "round,server,test,requests_per_sec" > "$rounds_csv"
for r in $(seq 1 "$rounds"); do
  for i in "${!labels[@]}"; do
    redis-benchmark -p "${ports[$i]}" -t set,get -n "$requests" -c "$clients" -r 1000000 -d 100 \
        --csv 2>/dev/null | tail -n +2 | tr -d '"' \
      | awk -F, -v r="$r" -v s="${labels[$i]}" '{printf "%s,%s,%s,%s\n", r, s, $1, $2}' \
      | tee -a "$rounds_csv" >&2
  done
done

python3 - "$rounds_csv" "$out/ab.md" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def rps(server, test, rnd=None):
    return [float(r["requests_per_sec"]) for r in rows if r["server"] == server
            and r["test"] == test and (rnd is None or r["round"] == rnd)]
rounds = sorted({r["round"] for r in rows}, key=int)
lines = ["| server | test | requests/s (median) | min–max over rounds | median of per-round ratio to Redis |",
         "|---|---|---|---|---|"]
for test in ("SET", "GET"):
    for server in ("before", "after", "redis-aof-everysec"):
        xs = rps(server, test)
        ratio = statistics.median(rps(server, test, n)[0] / rps("redis-aof-everysec", test, n)[0]
                                  for n in rounds)
        lines.append("| %s | %s | %.0f | %.0f–%.0f | %.2f× |"
                     % (server, test, statistics.median(xs), min(xs), max(xs), ratio))
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
