#!/usr/bin/env bash
# Latency of N sequential `true` commands at a simulated round-trip time:
# through the tccp-connect master versus a fresh direct connection each
# (and OpenSSH, with and without a ControlMaster, for reference).
#
# Usage: bench/connect-latency.sh [N] [ONE_WAY_DELAY_MS]     (root; the cluster up)
#
# The delay comes from a private delay proxy (tests/cluster/delay-proxy.py)
# on 127.0.0.1, in front of login's key door, so the cluster's own WAN
# proxy and other users are not disturbed.
set -euo pipefail

N=${1:-100}
DELAY=${2:-10}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TCCP_BIN_DIR:-$HERE/build/bin}
RUN=${TCCP_CLUSTER_RUN:-/var/lib/tccp-cluster}
[ -s "$RUN/cluster.env" ] || { echo "bench: the cluster is not up (tests/cluster/cluster.sh up)" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
. "$RUN/cluster.env"
set +a

work=$(mktemp -d)
proxy_pid=
cleanup() {
  TCCP_HOME=$work/home TCCP_SSH_CONFIG=$work/ssh_config "$BIN/tccp-connect" --host viaproxy stop >/dev/null 2>&1 || true
  ssh -F "$work/ssh_config" -O exit viaproxy >/dev/null 2>&1 || true
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$((30000 + RANDOM % 20000))
python3 "$HERE/tests/cluster/delay-proxy.py" --delay-ms "$DELAY" \
  --map "127.0.0.1:$port=$TCCP_CLUSTER_HOST:$TCCP_CLUSTER_KEY_PORT" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

awk -v name="[127.0.0.1]:$port" -v want="[$TCCP_CLUSTER_HOST]:$TCCP_CLUSTER_KEY_PORT" \
  '$1 == want { $1 = name; print }' "$TCCP_CLUSTER_KNOWN_HOSTS" >"$work/known_hosts"
cat >"$work/ssh_config" <<EOF
Host viaproxy
  HostName 127.0.0.1
  Port $port
  User $TCCP_CLUSTER_USER
  IdentityFile $TCCP_CLUSTER_KEY
  IdentitiesOnly yes
  UserKnownHostsFile $work/known_hosts
  GlobalKnownHostsFile /dev/null
  BatchMode yes
  ControlPath $work/cm-%C
EOF
export TCCP_HOME=$work/home TCCP_SSH_CONFIG=$work/ssh_config

# time_loop LABEL CMD...: runs CMD N times, prints the mean per command in ms.
time_loop() {
  local label=$1
  shift
  "$@" >/dev/null # warm-up (first connect, page cache)
  local t0 t1
  t0=$(date +%s%N)
  for _ in $(seq "$N"); do "$@" >/dev/null; done
  t1=$(date +%s%N)
  printf '%-44s %8.1f ms/command  (%d in %.2f s)\n' "$label" \
    "$(echo "($t1 - $t0) / 1000000 / $N" | bc -l)" "$N" "$(echo "($t1 - $t0) / 1000000000" | bc -l)"
}

echo "one-way delay ${DELAY} ms (RTT ~$((2 * DELAY)) ms), $N sequential 'true'"
time_loop "tccp-connect exec, fresh direct connection" "$BIN/tccp-connect" --host viaproxy exec true
"$BIN/tccp-connect" --host viaproxy start >/dev/null
time_loop "tccp-connect exec, through the master" "$BIN/tccp-connect" --host viaproxy exec true
rtt=$("$BIN/tccp-connect" --host viaproxy status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["rtt_ms"])')
echo "master's last measured channel-open RTT: ${rtt} ms"
time_loop "OpenSSH ssh, fresh connection" ssh -F "$work/ssh_config" -o ControlMaster=no viaproxy true
ssh -F "$work/ssh_config" -o ControlMaster=yes -o ControlPersist=60 -fN viaproxy
time_loop "OpenSSH ssh, through its ControlMaster" ssh -F "$work/ssh_config" viaproxy true
