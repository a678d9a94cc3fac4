# shellcheck shell=bash
# Bats helper for suites that use the tccp local SLURM cluster (tests/cluster/cluster.sh).
#
#   load 'helpers/cluster'
#   setup_file() { cluster_setup_file; }        # optional: bring the cluster up once per file
#   setup()      { cluster_require; }           # skips when not root, else cluster up + env loaded
#   teardown()   { cluster_teardown; }          # prints daemon logs when the test failed
#
# After cluster_require the variables of $TCCP_CLUSTER_RUN/cluster.env are exported
# (TCCP_CLUSTER_HOST, TCCP_CLUSTER_PORT, TCCP_CLUSTER_KEY, TCCP_CLUSTER_SSH_CONFIG, ...).
#
#   cluster_ssh CMD...        ssh to login as tccpuser with the key (non-interactive, multiplexed)
#   cluster_ssh_to HOST CMD.. same for another ssh_config alias (c1, c2, login-wan, ...)
#   cluster_x HOST CMD...     run CMD as root on login, c1 or c2
#   cluster_xu HOST CMD...    run CMD as tccpuser on login, c1 or c2 (no ssh)
#   wait_until SECS CMD...    poll CMD until it succeeds, fail after SECS
#   cluster_job_state JOBID   "STATE|EXITCODE|NODELIST" of a job from sacct (allocation line)

TCCP_CLUSTER_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../cluster" && pwd)/cluster.sh
: "${TCCP_CLUSTER_RUN:=/var/lib/tccp-cluster}"
export TCCP_CLUSTER_RUN TCCP_CLUSTER_SH

cluster_is_root() { [ "$(id -u)" -eq 0 ]; }

# Cheap "still up?" test used once the cluster was seen healthy in this run.
_cluster_fast_ok() {
  local pid
  [ "${TCCP_CLUSTER_READY:-}" = 1 ] && [ -s "$TCCP_CLUSTER_RUN/cluster.env" ] || return 1
  pid=$(cat "$TCCP_CLUSTER_RUN/state/holder-login.pid" 2>/dev/null) || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tini ]
}

_cluster_load_env() {
  set -a
  # shellcheck disable=SC1091
  . "$TCCP_CLUSTER_RUN/cluster.env"
  set +a
}

# Bring the cluster up if needed (no-op when it is healthy) and load cluster.env.
_cluster_ensure_up() {
  if ! _cluster_fast_ok; then
    if ! "$TCCP_CLUSTER_SH" check >/dev/null 2>&1; then
      local log
      log=$(mktemp "${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/cluster-up.XXXXXX")
      if ! "$TCCP_CLUSTER_SH" up >"$log" 2>&1; then
        echo "# cluster.sh up failed:"
        sed 's/^/#   /' "$log"
        return 1
      fi
    fi
    export TCCP_CLUSTER_READY=1
  fi
  _cluster_load_env
}

# For setup_file: bring the cluster up once for the whole file when running as root.
# (bats 1.8 cannot skip from setup_file; cluster_require in setup() does the skipping.)
cluster_setup_file() {
  cluster_is_root || return 0
  _cluster_ensure_up
}

# For setup() or a test: skip when not root, else make sure the cluster is up, load cluster.env.
cluster_require() {
  if ! cluster_is_root; then
    skip "end-to-end tests need root to run the local cluster"
  fi
  _cluster_ensure_up
}

cluster_x() { "$TCCP_CLUSTER_SH" x "$@"; }

# cluster_xu HOST CMD...: run CMD as tccpuser on HOST (from its home), bypassing ssh.
cluster_xu() { "$TCCP_CLUSTER_SH" xu "$@"; }

# ssh as tccpuser with the cluster key through $TCCP_CLUSTER_SSH_CONFIG; connections are
# multiplexed (ControlPersist) unless TCCP_CLUSTER_SSH_MUX=0.
cluster_ssh_to() {
  local host=$1
  shift
  local mux=()
  if [ "${TCCP_CLUSTER_SSH_MUX:-1}" != 0 ]; then
    mux=(-o ControlMaster=auto -o "ControlPath=$TCCP_CLUSTER_RUN/ctl/%C" -o ControlPersist=60)
  fi
  ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o BatchMode=yes "${mux[@]}" "$host" -- "$@"
}

cluster_ssh() { cluster_ssh_to login "$@"; }

# wait_until TIMEOUT_S CMD...: run CMD every 0.2 s until it succeeds; fail after TIMEOUT_S.
wait_until() {
  local timeout=$1
  shift
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "# wait_until: gave up after ${timeout}s: $*" >&2
      return 1
    fi
    sleep 0.2
  done
}

# cluster_job_state JOBID -> e.g. "COMPLETED|0:0|c1" (as tccpuser, through sacct on login)
cluster_job_state() {
  cluster_ssh "sacct -n -X -P -j '$1' -o State,ExitCode,NodeList" 2>/dev/null | tail -n 1
}

# cluster_job_is JOBID STATE: true when sacct reports STATE (e.g. for wait_until);
# "CANCELLED by 1001" counts as CANCELLED.
cluster_job_is() {
  local s
  s=$(cluster_job_state "$1")
  s=${s%%|*}
  [ "${s%% *}" = "$2" ]
}

# cluster_dump_logs [LINES]: status plus the tail of every daemon log (TCCP_CLUSTER_LOG_LINES)
cluster_dump_logs() {
  local lines=${1:-${TCCP_CLUSTER_LOG_LINES:-12}}
  echo "# ---- tccp cluster: status and daemon logs ----"
  "$TCCP_CLUSTER_SH" status 2>&1 | sed 's/^/# /' || true
  "$TCCP_CLUSTER_SH" logs "$lines" 2>&1 | sed 's/^/# /' || true
}

# For teardown(): show the cluster's logs when the test failed (not when passed or skipped).
cluster_teardown() {
  if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -z "${BATS_TEST_SKIPPED:-}" ] && cluster_is_root; then
    cluster_dump_logs "${TCCP_CLUSTER_LOG_LINES:-12}"
  fi
  return 0
}

# The end-to-end suites (e2e-run, e2e-jobs) work as a user does: one
# profile and one tccp-connect master per file, in the file's temp dir
# ($BATS_FILE_TMPDIR/tccp-home), with the project in $BATS_FILE_TMPDIR/proj.

# e2e_profile REMOTE_ROOT [LINE...]: writes the file's profile once: the
# password + TOTP door answered by askpass, the cluster's Python and package
# index; each LINE ("key: value") is added under `cluster:`.
e2e_profile() {
  [ -f "$TCCP_HOME/config.yaml" ] && return 0
  local root=$1 line
  shift
  mkdir -p "$TCCP_HOME"
  chmod 700 "$TCCP_HOME"
  {
    cat <<YAML
cluster:
  host: $TCCP_CLUSTER_HOST
  port: $TCCP_CLUSTER_PORT
  user: $TCCP_CLUSTER_USER
  known_hosts: $TCCP_CLUSTER_KNOWN_HOSTS
  askpass: $TCCP_CLUSTER_ASKPASS
  pip_index: $TCCP_CLUSTER_PIP_INDEX
  system_site_packages: true
  python: $TCCP_CLUSTER_PYTHON
  remote_root: $root
YAML
    for line in "$@"; do
      printf '  %s\n' "$line"
    done
  } >"$TCCP_HOME/config.yaml"
}

# e2e_teardown_file: releases the project's allocations, cancels by name a
# holder a test left busy (so the next suite finds the nodes and their GPUs
# free), and stops the file's master.
e2e_teardown_file() {
  local home=$BATS_FILE_TMPDIR/tccp-home proj=$BATS_FILE_TMPDIR/proj
  if [ -d "$proj" ]; then
    (cd "$proj" && TCCP_HOME="$home" "$TCCP_BIN_DIR/tccp-alloc" release </dev/null >/dev/null 2>&1) || true
    cluster_ssh "scancel -u tccpuser -n tccp:$(sed -n 's/^name: //p' "$proj/tccp.yaml")" || true
  fi
  TCCP_HOME="$home" "$TCCP_BIN_DIR/tccp-connect" stop </dev/null >/dev/null 2>&1 || true
}
