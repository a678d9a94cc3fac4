#!/bin/sh
# make demo: runs the guide's CPU example (examples/classifier: pandas +
# scikit-learn on a CSV it generates) on the local SLURM cluster, the way a
# user would: a profile in a fresh TCCP_HOME, one login (password + TOTP
# answered by the cluster's askpass program), then `tccp run main`.
#
# Needs the cluster up (make cluster-up) and the tools built (make build).
# Environment: TCCP_BIN_DIR (default build/bin), TCCP_CLUSTER_RUN (default
# /var/lib/tccp-cluster), TCCP_DEMO_KEEP=1 keeps the work directory.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
bin=${TCCP_BIN_DIR:-$repo/build/bin}
cluster_run=${TCCP_CLUSTER_RUN:-/var/lib/tccp-cluster}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() {
    printf 'demo: %s\n' "$*" >&2
    exit 1
}

[ -x "$bin/tccp" ] || die "no tccp in $bin (run 'make build')"
[ -r "$cluster_run/cluster.env" ] || die "no cluster at $cluster_run (run 'make cluster-up')"
# shellcheck disable=SC1091
. "$cluster_run/cluster.env"

work=$(mktemp -d "${TMPDIR:-/tmp}/tccp-demo.XXXXXX")
TCCP_HOME=$work/home
export TCCP_HOME
PATH=$bin:$PATH
export PATH

cleanup() {
    status=$?
    (cd "$work/classifier" 2>/dev/null && tccp dealloc >/dev/null 2>&1) || true
    tccp-connect stop >/dev/null 2>&1 || true
    if [ "${TCCP_DEMO_KEEP:-0}" = 1 ]; then
        printf 'demo: kept %s\n' "$work" >&2
    else
        rm -rf "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A YAML double-quoted scalar: backslashes and quotes escaped.
yq() { printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')"; }

say "the cluster profile ($TCCP_HOME/config.yaml)"
mkdir -p "$TCCP_HOME"
chmod 700 "$TCCP_HOME"
{
    printf 'cluster:\n'
    printf '  host: %s\n' "$(yq "$TCCP_CLUSTER_HOST")"
    printf '  port: %s\n' "$TCCP_CLUSTER_PORT"
    printf '  user: %s\n' "$(yq "$TCCP_CLUSTER_USER")"
    printf '  askpass: %s\n' "$(yq "$TCCP_CLUSTER_ASKPASS")"
    printf '  known_hosts: %s\n' "$(yq "$TCCP_CLUSTER_KNOWN_HOSTS")"
    printf '  python: %s\n' "$(yq "$TCCP_CLUSTER_PYTHON")"
    printf '  pip_index: %s\n' "$(yq "$TCCP_CLUSTER_PIP_INDEX")"
    printf '  system_site_packages: true\n'
    printf '  alloc_idle_timeout: 5m\n'
} >"$TCCP_HOME/config.yaml"
cat "$TCCP_HOME/config.yaml"

say "the project (examples/classifier)"
cp -R "$here/classifier" "$work/classifier"
cd "$work/classifier"
cat tccp.yaml

say "connect (one login: password + verification code)"
tccp-connect start

say "tccp run main"
tccp run main

say "tccp jobs"
tccp jobs

say "the output, back on the laptop"
latest=output/main/latest
[ -f "$latest/metrics.json" ] || die "no $latest/metrics.json: the output did not come back"
cat "$latest/metrics.json"
printf '\n'
