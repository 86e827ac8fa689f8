#!/usr/bin/env bash
# Installs etcd (Debian packages etcd-server and etcd-client), the peer that `respawn bench e1`
# compares the shard with. The package's own etcd service is disabled again: the benchmark
# starts its own three members on loopback with data under the project's data/ directory.
set -euo pipefail
command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1 && exit 0
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
echo "installing etcd-server etcd-client (the etcd peer of respawn bench e1)..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get install -y -q etcd-server etcd-client >/dev/null 2>&1 \
  || { $sudo_cmd apt-get update -q >/dev/null && $sudo_cmd apt-get install -y -q etcd-server etcd-client >/dev/null; }
$sudo_cmd systemctl disable --now etcd >/dev/null 2>&1 || true
