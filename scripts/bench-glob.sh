#!/usr/bin/env bash
# Can a glob pattern freeze the node? Side by side with Redis in ONE run: KEYS and a whole
# SCAN ... MATCH walk with a backtracking-hostile pattern (default a*a*a*a*a*a*a*a*a*a*b, which
# never matches) over N keys of KEY_BYTES bytes of 'a' (the worst case for it: every star can
# stretch over every byte). Reports, per server and command, the median and the slowest of the
# rounds.
#
#   scripts/bench-glob.sh [-n KEYS] [-l KEY_BYTES] [-p PATTERN] [-k ROUNDS] [-w WARMUP] [-o OUT_DIR]
#
# Respawn (bin/respawn server) and redis-server (persistence off) are started on loopback by this
# script and stopped by pid at the end. Both get the same keys and -w unmeasured warm-up rounds
# (default 50: the JVM compiles the matcher meanwhile); then -k rounds (default 20) alternate
# Respawn, Redis. Writes OUT_DIR/glob.md (the table) and
# exits non-zero if Respawn's slowest KEYS or SCAN walk took 50 ms or more (issue 7's bound).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keys=51 key_bytes=40 pattern='a*a*a*a*a*a*a*a*a*a*b' rounds=20 warmup=50
out="$root/docs/bench"
while getopts "n:l:p:k:w:o:" opt; do
  case "$opt" in
    n) keys="$OPTARG" ;; l) key_bytes="$OPTARG" ;; p) pattern="$OPTARG" ;;
    k) rounds="$OPTARG" ;; w) warmup="$OPTARG" ;; o) out="$OPTARG" ;; *) exit 2 ;;
  esac
done
"$root/scripts/install-test-deps.sh"
mkdir -p "$out" "$root/data"
source "$root/scripts/bench-lib.sh"
bench_work bench-glob

wait_ready() { # port
  for _ in $(seq 1 300); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on port $1 did not answer PING within 30 s" >&2; return 1
}

"$root/bin/respawn" version >/dev/null 2>&1 || true  # builds on first use
respawn_port="$(free_port)"
"$root/bin/respawn" server --port "$respawn_port" --data "$work/respawn" > "$work/respawn.log" 2>&1 &
pids+=("$!")
redis_port="$(free_port)"
mkdir -p "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save "" \
    --appendonly no --daemonize no --logfile "$work/redis.log" &
pids+=("$!")
wait_ready "$respawn_port"
wait_ready "$redis_port"

python3 - "$respawn_port" "$redis_port" "$keys" "$key_bytes" "$rounds" "$warmup" "$pattern" \
    "$out/glob.md" <<'PY'
import socket, statistics, sys, time

respawn_port, redis_port, keys, key_bytes, rounds, warmup = map(int, sys.argv[1:7])
pattern, table_md = sys.argv[7].encode(), sys.argv[8]
servers = [("respawn", respawn_port), ("redis", redis_port)]

def command(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")

    def reply(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise RuntimeError("unexpected reply %r" % line)

    def call(self, *args):
        self.s.sendall(command(*args))
        return self.reply()

def key(i):
    suffix = b"c%d" % i  # never ends in b: the pattern matches none of them
    return b"a" * (key_bytes - len(suffix)) + suffix

def load(c):
    c.call("FLUSHALL")
    for start in range(0, keys, 1000):
        batch = range(start, min(keys, start + 1000))
        c.s.sendall(b"".join(command("SET", key(i), "v") for i in batch))
        for _ in batch:
            assert c.reply() == b"OK"
    assert int(c.call("DBSIZE")) == keys

def keys_ms(c):
    t0 = time.perf_counter()
    found = c.call("KEYS", pattern)
    ms = (time.perf_counter() - t0) * 1e3
    assert found == [], found[:3]
    return ms

def scan_ms(c):
    """A whole SCAN walk (COUNT 1000 per call) with MATCH; the time of all its calls."""
    t0 = time.perf_counter()
    cursor, found = b"0", []
    while True:
        cursor, batch = c.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
        found += batch
        if cursor == b"0":
            break
    ms = (time.perf_counter() - t0) * 1e3
    assert found == [], found[:3]
    return ms

conns = {name: Conn(port) for name, port in servers}
for name, c in conns.items():
    load(c)
    for _ in range(warmup):  # not measured: the JVM compiles the matcher meanwhile
        keys_ms(c)
        scan_ms(c)
times = {(name, what): [] for name in conns for what in ("KEYS", "SCAN")}
for r in range(1, rounds + 1):
    for name, c in conns.items():
        times[(name, "KEYS")].append(keys_ms(c))
        times[(name, "SCAN")].append(scan_ms(c))
        print("round %d %-8s KEYS %.2f ms, SCAN walk %.2f ms"
              % (r, name, times[(name, "KEYS")][-1], times[(name, "SCAN")][-1]), file=sys.stderr)

lines = ["Pattern `%s` over %d keys of %d bytes, %d rounds after %d warm-up rounds."
         % (pattern.decode(), keys, key_bytes, rounds, warmup), "",
         "| server | command | median ms | slowest ms |", "|---|---|---|---|"]
for name in conns:
    for what in ("KEYS", "SCAN"):
        xs = times[(name, what)]
        label = "KEYS" if what == "KEYS" else "SCAN 0 MATCH ... COUNT 1000 (whole walk)"
        lines.append("| %s | %s | %.2f | %.2f |" % (name, label, statistics.median(xs), max(xs)))
worst = max(max(times[("respawn", w)]) for w in ("KEYS", "SCAN"))
lines += ["", "Respawn's slowest: %.2f ms (target: under 50 ms)." % worst]
open(table_md, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(0 if worst < 50 else 1)
PY
