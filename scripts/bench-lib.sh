# Sourced by the benchmark scripts (after they set $root).
#
# bench_work NAME: makes $work, a scratch directory under the project's (git-ignored) data
# directory (not /tmp, which may be a tmpfs where fsync costs nothing), and $pids, the processes
# the script starts; on exit every one of them is stopped by pid and $work is removed.
bench_work() {
  mkdir -p "$root/data"
  work="$(mktemp -d "$root/data/$1.XXXXXX")"
  pids=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  bench_stop_processes
  rm -rf "$work"
}
# bench_stop_processes: stops every process in $pids by pid and waits for it.
bench_stop_processes() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
}

# free_port prints a loopback port that is free now and lies below the kernel's ephemeral range
# (like LoopbackPorts in the Java code): a server started a moment later binds it, and no
# outgoing connection made meanwhile can be holding it.
free_port() {
  python3 - <<'PY'
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError):
    low = 32768
lo, hi = (10000, low - 1) if low - 10000 >= 1000 else (1024, 65535)
for _ in range(200):
    port = random.randint(lo, hi)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("free_port: no free loopback port after 200 tries")
PY
}
