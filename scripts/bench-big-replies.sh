#!/usr/bin/env bash
# Does one client's big reply stall the others? Side by side with Redis in ONE run: a well-behaved
# client sends PING every millisecond while another client fetches one MGET of N values of
# VALUE_BYTES (default 300 x 1 MiB = 300 MiB of reply). Reports, per server, the PING round
# trips during the MGET (p50, p99, max) and the MGET's own time.
#
#   scripts/bench-big-replies.sh [-n VALUES] [-d VALUE_BYTES] [-k ROUNDS] [-o OUT_DIR]
#
# Respawn (bin/respawn server, the launcher's JVM options) and redis-server (persistence off) are
# started on loopback by this script and stopped by pid at the end. Both get the same keys and one
# unmeasured warm-up round; then -k rounds (default 5) alternate Respawn, Redis, Respawn, ... so
# the machine's drift is shared; the figures reported are the medians over the rounds. Writes
# OUT_DIR/big-replies-rounds.csv (every round) and OUT_DIR/big-replies.md (the table), and exits
# non-zero if Respawn's median PING p99 is more than twice Redis's.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
values=300 value_bytes=1048576 rounds=5
out="$root/docs/bench"
while getopts "n:d:k:o:" opt; do
  case "$opt" in
    n) values="$OPTARG" ;; d) value_bytes="$OPTARG" ;; k) rounds="$OPTARG" ;;
    o) out="$OPTARG" ;; *) exit 2 ;;
  esac
done
"$root/scripts/install-test-deps.sh"
mkdir -p "$out" "$root/data"
source "$root/scripts/bench-lib.sh"
bench_work bench-big-replies

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

python3 - "$respawn_port" "$redis_port" "$values" "$value_bytes" "$rounds" \
    "$out/big-replies-rounds.csv" "$out/big-replies.md" <<'PY'
import multiprocessing, socket, statistics, sys, time

respawn_port, redis_port, values, value_bytes, rounds = map(int, sys.argv[1:6])
rounds_csv, table_md = sys.argv[6], sys.argv[7]
servers = [("respawn", respawn_port), ("redis", redis_port)]

def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def command(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)

def read_exactly(s, n, buf):
    view = memoryview(buf)
    while n > 0:
        got = s.recv_into(view, min(n, len(buf)))
        if got == 0:
            raise EOFError("server closed the connection")
        n -= got

def load(port):
    s = connect(port)
    value = b"v" * value_bytes
    batch = 20
    for start in range(0, values, batch):
        keys = range(start, min(values, start + batch))
        s.sendall(b"".join(command("SET", "big:%d" % i, value) for i in keys))
        expected = b"+OK\r\n" * len(keys)
        got = b""
        while len(got) < len(expected):
            got += s.recv(65536)
        assert got == expected, got[:100]
    s.close()

def pinger(port, start_event, stop_event, results):
    s = connect(port)
    buf = bytearray(7)
    start_event.wait()
    rtts = []
    while not stop_event.is_set():
        t0 = time.perf_counter()
        s.sendall(b"PING\r\n")
        read_exactly(s, 7, buf)
        rtts.append(time.perf_counter() - t0)
        time.sleep(0.001)
    s.close()
    results.put(rtts)

def mget_reply_bytes():
    header = len(b"$%d\r\n" % value_bytes) + value_bytes + 2
    return len(b"*%d\r\n" % values) + values * header

def one_round(port):
    """PINGs from another process while this one fetches the MGET; returns (mget s, rtts)."""
    start_event, stop_event = multiprocessing.Event(), multiprocessing.Event()
    results = multiprocessing.Queue()
    p = multiprocessing.Process(target=pinger, args=(port, start_event, stop_event, results))
    p.start()
    s = connect(port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    request = command("MGET", *["big:%d" % i for i in range(values)])
    buf = bytearray(4 << 20)
    start_event.set()
    time.sleep(0.2)  # PINGs before the MGET show the idle round trip too
    t0 = time.perf_counter()
    s.sendall(request)
    read_exactly(s, mget_reply_bytes(), buf)
    mget_seconds = time.perf_counter() - t0
    time.sleep(0.05)
    stop_event.set()
    rtts = results.get(timeout=60)
    p.join()
    s.close()
    return mget_seconds, rtts

def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]

for name, port in servers:
    load(port)
    one_round(port)  # warm-up (JIT, buffers), not measured

rows = []
with open(rounds_csv, "w") as f:
    f.write("round,server,mget_seconds,pings,ping_p50_ms,ping_p99_ms,ping_max_ms\n")
    for r in range(1, rounds + 1):
        for name, port in servers:
            mget_seconds, rtts = one_round(port)
            row = (r, name, mget_seconds, len(rtts), pct(rtts, 0.5) * 1e3, pct(rtts, 0.99) * 1e3,
                   max(rtts) * 1e3)
            rows.append(row)
            f.write("%d,%s,%.3f,%d,%.3f,%.3f,%.3f\n" % row)
            print("round %d %-8s MGET %.3f s, %d PINGs: p50 %.2f ms, p99 %.2f ms, max %.2f ms"
                  % row, file=sys.stderr)

def median_of(name, i):
    return statistics.median(row[i] for row in rows if row[1] == name)

lines = ["| server | MGET %d x %d B (s) | PING p50 ms | PING p99 ms | PING max ms | rounds |"
         % (values, value_bytes), "|---|---|---|---|---|---|"]
for name, _ in servers:
    lines.append("| %s | %.3f | %.2f | %.2f | %.2f | %d |" % (name, median_of(name, 2),
        median_of(name, 4), median_of(name, 5), median_of(name, 6), rounds))
ratio = median_of("respawn", 5) / median_of("redis", 5)
lines.append("")
lines.append("Respawn's median PING p99 is %.2fx Redis's (target: at most 2x)." % ratio)
open(table_md, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(0 if ratio <= 2.0 else 1)
PY
