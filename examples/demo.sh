#!/bin/sh
# make demo: runs the CPU example end to end on the local cluster, the way a
# user would: a cluster profile, one connection (password + TOTP answered
# by the cluster's askpass program), `tccp run main`, and the output that
# comes back. Expects `make build` and `make cluster-up` to have run.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
run=${TCCP_CLUSTER_RUN:-/var/lib/tccp-cluster}
[ -r "$run/cluster.env" ] || { echo "demo: the local cluster is not up (make cluster-up)" >&2; exit 1; }
# shellcheck disable=SC1091
. "$run/cluster.env"

export PATH="$build/bin:$PATH"
export TCCP_HOME="$build/demo/home"
work="$build/demo/cpu-classifier"
rm -rf "$build/demo"
mkdir -p "$TCCP_HOME" "$work"
chmod 700 "$TCCP_HOME"
cp -R "$src/examples/cpu-classifier/." "$work/"

cat > "$TCCP_HOME/config.yaml" <<YAML
cluster:
  host: $TCCP_CLUSTER_HOST
  port: $TCCP_CLUSTER_PORT
  user: $TCCP_CLUSTER_USER
  known_hosts: $TCCP_CLUSTER_KNOWN_HOSTS
  askpass: $TCCP_CLUSTER_ASKPASS
  pip_index: $TCCP_CLUSTER_PIP_INDEX
  system_site_packages: true
  python: $TCCP_CLUSTER_PYTHON
YAML

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

cd "$work"
step "tccp config (the resolved job)"
tccp-config show </dev/null
step "tccp-connect start (one password + TOTP login)"
tccp-connect start </dev/null >/dev/null
step "tccp run main"
status=0
tccp run main </dev/null || status=$?
step "tccp jobs"
tccp-launch jobs </dev/null | python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"]["runs"]:
    print(r["id"], r["state"], r["node"], "exit", r["exit_code"])'
step "output/main/latest"
ls -l output/main/
cat output/main/latest/metrics.json
tccp-alloc release </dev/null >/dev/null || true
tccp-connect stop </dev/null >/dev/null || true
exit "$status"
