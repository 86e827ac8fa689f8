#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use as real clients and peers:
# redis-tools (redis-cli, redis-benchmark), redis-server (benchmark peer), python3-redis
# (redis-py's RedisCluster, a cluster client the shard tests use) and iptables (partitions
# between shard members in the fault campaign). Installing them
# starts no daemon that the tests rely on; the benchmark script starts its own on loopback.
set -euo pipefail
missing=()
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
/usr/bin/python3 -c 'import redis' >/dev/null 2>&1 || missing+=(python3-redis)
# iptables: the fault campaign's partition faults (bench faults --faults isolate-any,...)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || missing+=(iptables)
"$(dirname "${BASH_SOURCE[0]}")/install-etcd.sh"
[ ${#missing[@]} -eq 0 ] && exit 0
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
echo "installing ${missing[*]}..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
  || { $sudo_cmd apt-get update -q >/dev/null && $sudo_cmd apt-get install -y -q "${missing[@]}" >/dev/null; }
# Debian's package enables a system redis-server; the tests never use it.
$sudo_cmd systemctl disable --now redis-server >/dev/null 2>&1 || true
