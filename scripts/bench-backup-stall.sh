#!/usr/bin/env bash
# Writes through a stall of the backup, with and without a witness standing in for it.
#
#   scripts/bench-backup-stall.sh [-k ROUNDS] [-s STALL_MS] [-n REQUESTS] [-c CLIENTS]
#                                 [-f stop|freeze] [-o OUTDIR]
#
# Per round, for each setting of stand-in-after-ms (150, the default, and 0: no stand-in), the
# two alternating which goes first: a fresh `respawn up` shard (1+1+1), redis-benchmark SETs
# (CLIENTS connections, default 8, 100-byte values, REQUESTS of them) against its primary, and 1 s into them a stall of
# the backup for STALL_MS (default 2000). The stall (-f) is a SIGSTOP of the backup's process
# then SIGCONT (stop, the default), or a freeze of the file system holding the backup's data
# directory (freeze: the backup's directory is put on an ext4 file system in a loop-mounted
# image file of its own, frozen with fsfreeze, then thawed; every write and fsync of the
# backup blocks meanwhile, as on a stalled disk, while its process runs; needs root).
# redis-benchmark reports the slowest request, which is how long the stall held a write; the
# primary's log gives how long each stand-in lasted. Writes OUTDIR/backup-stall.csv
# (setting,round,requests_per_sec,p50_ms,p99_ms,max_ms,stand_in_ms,primary_busy_after_resume_ms)
# and prints the medians per setting (stand_in_ms: from the stand-in's start to its end, empty
# when none ended; primary_busy_after_resume_ms: the longest pass of the primary's event loop
# that its watchdog logged, the loop busy or blocked, from the backup's resume on; 0 when none
# reached 20 ms).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/bench-lib.sh"
rounds=3
stall_ms=2000
requests=200000
fault=stop
clients=8
out="$root/docs/bench"
while getopts "k:s:n:c:f:o:" opt; do
  case "$opt" in
    k) rounds="$OPTARG" ;;
    s) stall_ms="$OPTARG" ;;
    n) requests="$OPTARG" ;;
    f) fault="$OPTARG" ;;
    c) clients="$OPTARG" ;;
    o) out="$OPTARG" ;;
    *) echo "usage: $0 [-k ROUNDS] [-s STALL_MS] [-n REQUESTS] [-c CLIENTS] [-f stop|freeze]" \
         "[-o OUTDIR]" >&2
       exit 2 ;;
  esac
done
command -v redis-benchmark > /dev/null || {
  echo "bench-backup-stall: redis-benchmark not found; install redis-tools" >&2; exit 1; }
case "$fault" in
  stop) ;;
  freeze)
    [ "$(id -u)" = 0 ] || { echo "bench-backup-stall: -f freeze needs root (mount, fsfreeze)" >&2
      exit 1; }
    for tool in fsfreeze mkfs.ext4 mount umount; do
      command -v "$tool" > /dev/null || {
        echo "bench-backup-stall: -f freeze needs $tool (util-linux, e2fsprogs)" >&2; exit 1; }
    done ;;
  *) echo "bench-backup-stall: -f takes stop or freeze, not '$fault'" >&2; exit 2 ;;
esac
"$root/bin/respawn" version > /dev/null
bench_work backup-stall
mounts=()
# Thaw and unmount what a freeze run mounted, whatever happened (a frozen file system left
# behind would block every process that writes to it), then the usual cleanup.
stall_cleanup() {
  for m in "${mounts[@]:-}"; do
    [ -n "$m" ] || continue
    fsfreeze -u "$m" 2>/dev/null || true
  done
  bench_stop_processes
  for m in "${mounts[@]:-}"; do
    [ -n "$m" ] && umount "$m" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap stall_cleanup EXIT
mkdir -p "$out"
csv="$out/backup-stall.csv"
echo "setting,round,requests_per_sec,p50_ms,p99_ms,max_ms,stand_in_ms,primary_busy_after_resume_ms" > "$csv"

# backup_on_own_fs DATA NAME: makes DATA/node-2 (the backup's data directory under respawn up)
# a directory on a fresh ext4 file system of its own, mounted from an image file in $work;
# prints the mount point.
backup_on_own_fs() {
  local data="$1" name="$2" img mnt
  img="$work/$name.img"
  mnt="$work/$name.mnt"
  truncate -s 2G "$img"
  mkfs.ext4 -q -F "$img"
  mkdir -p "$mnt" "$data"
  mount -o loop "$img" "$mnt"
  mounts+=("$mnt")
  mkdir "$mnt/node-2"
  ln -s "$mnt/node-2" "$data/node-2"
  echo "$mnt"
}

# stand_in_ms LOG: milliseconds from the start of the last stand-in that ended to its end, in a
# primary's log (the stall's: one may also come and go while the shard starts); empty when none
# ended.
stand_in_ms() {
  python3 - "$1" <<'PY'
import sys
from datetime import datetime
start = lasted = None
for line in open(sys.argv[1], errors="replace"):
    when = lambda: datetime.fromisoformat(line[:24].replace("Z", "+00:00"))
    if "stands in for a silent backup" in line:
        start = when()
    elif start is not None and "the stand-in for it ended" in line:
        lasted = round((when() - start).total_seconds() * 1000)
        start = None
print("" if lasted is None else lasted)
PY
}

# loop_busy_ms LOG SINCE: the longest time the event loop of a member ended no pass while the
# loop itself was busy or blocked, from its watchdog's lines in LOG (it logs each such hiccup of
# 20 ms or more) at or after SINCE (an ISO time in UTC, as the log writes it); 0 when none.
loop_busy_ms() {
  python3 - "$1" "$2" <<'PY'
import re, sys
from datetime import datetime
since = datetime.fromisoformat(sys.argv[2].replace("Z", "+00:00"))
longest = 0
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"the event loop ended no pass for (\d+) ms", line)
    if m and "the loop itself was busy or blocked" in line:
        if datetime.fromisoformat(line[:24].replace("Z", "+00:00")) >= since:
            longest = max(longest, int(m.group(1)))
print(longest)
PY
}

# one_run SETTING ROUND: a shard with stand-in-after-ms SETTING, SETs through a backup stall.
one_run() {
  local setting="$1" round="$2" port data up_pid backup_pid result
  port="$(free_port)"
  data="$work/$setting-$round"
  local mnt=""
  if [ "$fault" = freeze ]; then
    mnt="$(backup_on_own_fs "$data" "fs-$setting-$round")"
  fi
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
  local stall_s
  stall_s="$(awk "BEGIN {print $stall_ms / 1000}")"
  local resumed="$work/resumed-$setting-$round"
  if [ "$fault" = freeze ]; then
    (sleep 1; fsfreeze -f "$mnt"; sleep "$stall_s"; fsfreeze -u "$mnt"
     date -u +%Y-%m-%dT%H:%M:%S.%3NZ > "$resumed") &
  else
    (sleep 1; kill -STOP "$backup_pid"; sleep "$stall_s"; kill -CONT "$backup_pid"
     date -u +%Y-%m-%dT%H:%M:%S.%3NZ > "$resumed") &
  fi
  local stopper=$!
  result="$(redis-benchmark -p "$port" -t set -n "$requests" -c "$clients" -r 100000 -d 100 2>/dev/null \
    | tr '\r' '\n')"
  wait "$stopper" || true
  local stand_in
  stand_in="$(stand_in_ms "$data/node-1/respawn.log")"
  local busy
  busy="$(loop_busy_ms "$data/node-1/respawn.log" "$(cat "$resumed")")"
  kill "$up_pid" 2>/dev/null || true
  wait "$up_pid" 2>/dev/null || true
  if [ -n "$mnt" ]; then
    umount "$mnt" 2>/dev/null || true
    rm -f "$work/fs-$setting-$round.img"
  fi
  local rps p50 p99 max
  rps="$(echo "$result" | sed -n 's/^ *throughput summary: \([0-9.]*\) requests per second/\1/p' \
    | tail -1)"
  # "latency summary (msec):" then a header line and a line "avg min p50 p95 p99 max"
  read -r _ _ p50 _ p99 max < <(echo "$result" | grep -A2 'latency summary' | tail -1)
  echo "$setting,$round,$rps,$p50,$p99,$max,$stand_in,$busy" | tee -a "$csv"
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
    lasted = [float(r["stand_in_ms"]) for r in mine if r.get("stand_in_ms")]
    print(f"stand-in-after-ms {setting}: {med('requests_per_sec'):,.0f} SET/s, "
          f"p99 {med('p99_ms'):.2f} ms, slowest {med('max_ms'):.0f} ms, primary's longest busy pass after the resume "
          f"{med('primary_busy_after_resume_ms'):.0f} ms (medians of {len(mine)})"
          + (f"; stand-in lasted {statistics.median(lasted):,.0f} ms (median of {len(lasted)})"
             if lasted else ""))
PY
