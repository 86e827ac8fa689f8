#!/usr/bin/env bash
# Side-by-side RESP benchmark: redis-benchmark against Respawn (ORDERED and DURABLE acks with log
# compaction off, as Redis's AOF rewriting is; and ORDERED with default compaction) and against
# Redis (persistence off, AOF appendfsync everysec, AOF appendfsync always), all started by this
# script on loopback and measured in ONE run so the machine's state is shared.
#
#   scripts/bench-vs-redis.sh [-n REQUESTS] [-c CLIENTS] [-r KEYSPACE] [-d VALUE_BYTES]
#                             [-w WARMUP_REQUESTS] [-k ROUNDS] [-o OUT_DIR] [-j JAVA_OPTS] [-K]
#
# -j adds one more server to the same run: Respawn ORDERED (compaction off) with RESPAWN_JAVA_OPTS
# set to JAVA_OPTS instead of the launcher's defaults, labelled respawn-ordered-alt-jvm, so JVM
# options are compared on the same code and the same machine state, rounds interleaved.
# -K keeps the work directory (servers' logs, Respawn's GC logs with each pause's CPU times) and
# prints where it is, instead of deleting it.
#
# All servers run at once (idle while another is measured). Each first gets the same
# unmeasured warm-up (-w requests of SET and of GET, default 300000; 0 turns it off) so a JVM's
# JIT compilation is not measured as throughput and every server starts with the same keys.
# Then -k rounds (default 3) each measure every server in turn: SET and GET, without and with
# -P 16. Interleaving the rounds spreads the machine's minute-to-minute drift over all servers;
# the figure reported per server, test and pipeline depth is the median of its rounds.
# Also measures, in the same run, a loop doing one write + fsync per SET-sized record on the same
# disk (the baseline DURABLE acks are compared with). Writes OUT_DIR/redis-compare.csv (medians,
# one row per server x test x pipeline depth), OUT_DIR/redis-compare-rounds.csv (every round),
# prints a Markdown table (plus Respawn's GC pauses), and renders OUT_DIR/redis-compare.png.
# Every process it starts is stopped by pid.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requests=200000 clients=50 keyspace=1000000 value_bytes=100 warmup=300000 rounds=3
out="$root/docs/bench" alt_java_opts="" keep=0
while getopts "n:c:r:d:w:k:o:j:K" opt; do
  case "$opt" in
    n) requests="$OPTARG" ;; c) clients="$OPTARG" ;; r) keyspace="$OPTARG" ;;
    d) value_bytes="$OPTARG" ;; w) warmup="$OPTARG" ;; k) rounds="$OPTARG" ;;
    o) out="$OPTARG" ;; j) alt_java_opts="$OPTARG" ;; K) keep=1 ;; *) exit 2 ;;
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
  if [ "$keep" = 1 ]; then echo "kept the servers' logs and GC logs in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

source "$root/scripts/bench-lib.sh" # free_port

wait_ready() { # port
  for _ in $(seq 1 300); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on port $1 did not answer PING within 30 s" >&2; return 1
}

csv="$out/redis-compare.csv"
rounds_csv="$out/redis-compare-rounds.csv"
echo "round,server,test,pipeline,requests_per_sec,p50_ms,p99_ms" > "$rounds_csv"

labels=() ports=()
start_respawn() { # label durability [extra server flags...]
  local label="$1" durability="$2"; shift 2
  local port; port="$(free_port)"
  # GC log beside the server log (JAVA_TOOL_OPTIONS adds to the launcher's JVM options), with
  # each pause's user/real CPU times (a pause whose real time is far above its user time waited
  # for a processor); java_opts (set by start_respawn_with) replaces the launcher's defaults
  # when not empty.
  JAVA_TOOL_OPTIONS="-Xlog:gc,gc+cpu:file=$work/$label-gc.log" \
  RESPAWN_JAVA_OPTS="${java_opts:-${RESPAWN_JAVA_OPTS:-}}" \
    "$root/bin/respawn" server --port "$port" --data "$work/$label" --durability "$durability" "$@" \
      > "$work/$label.log" 2>&1 &
  pids+=("$!")
  wait_ready "$port"
  labels+=("$label") ports+=("$port")
}

start_respawn_with() { # java_opts label durability [extra server flags...]
  local java_opts="$1"; shift
  start_respawn "$@"
}

start_redis() { # label extra-args...
  local label="$1"; shift
  local port; port="$(free_port)"
  mkdir -p "$work/$label"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$work/$label" --save "" --daemonize no \
      --logfile "$work/$label.log" "$@" &
  pids+=("$!")
  wait_ready "$port"
  labels+=("$label") ports+=("$port")
}

measure() { # round label port
  local round="$1" label="$2" port="$3"
  for pipeline in 1 16; do
    # --csv columns: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    redis-benchmark -p "$port" -t set,get -n "$requests" -c "$clients" -r "$keyspace" -d "$value_bytes" \
        -P "$pipeline" --csv 2>/dev/null | tail -n +2 | tr -d '"' \
      | awk -F, -v r="$round" -v s="$label" -v p="$pipeline" \
          '{printf "%s,%s,%s,%s,%s,%s,%s\n", r, s, $1, p, $2, $5, $7}' >> "$rounds_csv"
  done
  grep "^$round,$label," "$rounds_csv" >&2
}

# Baseline for DURABLE: one write + fsync per operation on the same disk, one writer, in order.
fsync_dir="$work/fsync-loop"
"$root/bin/respawn" bench storage --modes FSYNC_PER_WRITE --threads 1 --seconds 3 \
    --value-bytes "$value_bytes" --dir "$fsync_dir" --csv "$work/fsync.csv" >/dev/null
tail -n +2 "$work/fsync.csv" \
  | awk -F, '{printf "fsync-per-write-loop,SET,1,%s,%.3f,%.3f,1,%s,%s\n", $3, $4/1000, $5/1000, $3, $3}' \
  > "$work/fsync-row.csv"
cat "$work/fsync-row.csv" >&2

"$root/bin/respawn" version >/dev/null 2>&1 || true  # builds on first use
# Redis runs with AOF rewriting off (auto-aof-rewrite-percentage 0); Respawn's counterpart,
# background compaction, is off in the same way for the rows compared with it. One more ORDERED
# server keeps the default compaction, to show what compaction costs under this write load.
start_respawn respawn-ordered ORDERED --compaction-interval-ms 0
start_respawn respawn-durable DURABLE --compaction-interval-ms 0
start_respawn respawn-ordered-compacting ORDERED
if [ -n "$alt_java_opts" ]; then
  start_respawn_with "$alt_java_opts" respawn-ordered-alt-jvm ORDERED --compaction-interval-ms 0
fi
start_redis redis-nopersist --appendonly no
start_redis redis-aof-everysec --appendonly yes --appendfsync everysec --auto-aof-rewrite-percentage 0
start_redis redis-aof-always --appendonly yes --appendfsync always --auto-aof-rewrite-percentage 0

if [ "$warmup" -gt 0 ]; then
  for i in "${!labels[@]}"; do
    redis-benchmark -p "${ports[$i]}" -t set,get -n "$warmup" -c "$clients" -r "$keyspace" \
        -d "$value_bytes" -q >/dev/null 2>&1
  done
fi
for round in $(seq 1 "$rounds"); do
  for i in "${!labels[@]}"; do
    measure "$round" "${labels[$i]}" "${ports[$i]}"
  done
done

# Medians per server x test x pipeline (the loop's single figure goes in as it is).
python3 - "$rounds_csv" "$csv" "$work/fsync-row.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
groups = {}
for r in rows:
    groups.setdefault((r["server"], r["test"], r["pipeline"]), []).append(r)
with open(sys.argv[2], "w") as out:
    out.write("server,test,pipeline,requests_per_sec,p50_ms,p99_ms,rounds,min_rps,max_rps\n")
    out.write(open(sys.argv[3]).read())
    for (server, test, pipeline), rs in groups.items():
        rps = [float(r["requests_per_sec"]) for r in rs]
        med = sorted(rs, key=lambda r: float(r["requests_per_sec"]))[(len(rs) - 1) // 2]
        out.write("%s,%s,%s,%.0f,%s,%s,%d,%.0f,%.0f\n" % (server, test, pipeline,
            statistics.median(rps), med["p50_ms"], med["p99_ms"], len(rs), min(rps), max(rps)))
PY
{
  echo "| server | test | pipeline | requests/s (median) | min–max over rounds | p50 ms | p99 ms |"
  echo "|---|---|---|---|---|---|---|"
  tail -n +2 "$csv" | awk -F, '{printf "| %s | %s | %s | %s | %s–%s | %s | %s |\n", $1, $2, $3, $4, $8, $9, $5, $6}'
} | tee "$out/redis-compare.md"
# Respawn's stop-the-world GC pauses over the whole run (warm-up included), for reading its
# slow rounds; and the same without the collections the server makes before it listens (its
# start-up state moved to the old generation; no client can wait for them): the GC log's first
# pauses, as many as the server's log says ("start-up state tenured by N ..."; it assumes no
# other collection came first, and the server's default INFO log level).
{
  echo
  echo "| server | GC pauses | of them full | total ms | longest ms | before listening: pauses, total ms, longest ms | while serving: pauses, total ms, longest ms |"
  echo "|---|---|---|---|---|---|---|"
  for label in "${labels[@]}"; do
    gc="$work/$label-gc.log"
    [ -f "$gc" ] || continue
    tenured="$(grep -oE 'start-up state tenured by [0-9]+' "$work/$label.log" | grep -oE '[0-9]+$' | head -1 || true)"
    { grep 'Pause' "$gc" || true; } \
      | awk -v s="$label" -v full="$(grep -c 'Pause Full' "$gc" || true)" -v first="${tenured:-0}" '
          { ms = $NF; sub(/ms$/, "", ms); ms += 0; n++; t += ms; if (ms > m) m = ms
            id = $0; sub(/.*GC\(/, "", id); sub(/\).*/, "", id)
            if (id + 0 < first) { sc++; st += ms; if (ms > stm) stm = ms } else { sn++; stt += ms; if (ms > sm) sm = ms } }
          END { printf "| %s | %d | %d | %.0f | %.0f | %s | %d, %.0f, %.1f |\n", s, n, full, t, m, (sc == 0 ? "-" : sprintf("%d, %.0f, %.1f", sc, st, stm)), sn, stt, sm }'
  done
} | tee -a "$out/redis-compare.md"
"$root/bin/respawn" bench chart --csv "$csv" --png "$out/redis-compare.png" \
  --title "redis-benchmark -c $clients -r $keyspace -d $value_bytes (requests/s)"
echo "wrote $csv and $out/redis-compare.png" >&2
