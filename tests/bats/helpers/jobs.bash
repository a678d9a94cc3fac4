# shellcheck shell=bash
# Helpers of the job suites (alloc, launch, logs): the tools run on the
# cluster's login host as tccpuser with `host: local` in their profile, so
# they reach SLURM without SSH (e2e-jobs.bats covers the SSH path).
#
#   load 'helpers/common'; load 'helpers/cluster'; load 'helpers/jobs'
#   setup_file() { jobs_setup_file SUITE; }     # a project and a remote root per suite
#   setup()      { jobs_setup; }                # skips without root / cluster
#   teardown_file() { jobs_teardown_file; }     # releases the suite's allocations
#
#   on_login CMD...     runs CMD as tccpuser on login, in the project, with the
#                       suite's TCCP_HOME and the built tools on PATH (copies
#                       under the shared home: the build dir may be in a /tmp
#                       of the laptop's own, or in a home tccpuser cannot enter)
#   sync_tree           pushes the project (tccp-sync push)
#   job_doc [JOB]       prints the job document of JOB (tccp-config resolve)
#   run_job JOB [ARGS]  the whole pipeline: resolve | ensure | start | attach

# The suite's names and places, shared by every test of a file.
jobs_names() {
  JOBS_SUITE=$1
  JOBS_USER_HOME=/home/tccpuser
  JOBS_BASE=$JOBS_USER_HOME/bats-jobs/$JOBS_SUITE
  JOBS_PROJECT=bats-$JOBS_SUITE
  JOBS_DIR=$JOBS_BASE/$JOBS_PROJECT
  JOBS_ROOT=$JOBS_BASE/root
  JOBS_HOME=$JOBS_BASE/tccp-home
  JOBS_BIN=$JOBS_BASE/bin
  export JOBS_SUITE JOBS_USER_HOME JOBS_BASE JOBS_PROJECT JOBS_DIR JOBS_ROOT JOBS_HOME JOBS_BIN
}

# jobs_login_pid: the root-namespace pid of login's init (fast path of cluster.sh x).
jobs_login_pid() {
  cat "$TCCP_CLUSTER_RUN/state/holder-login.pid"
}

on_login() {
  local pid
  pid=$(jobs_login_pid) || return 1
  nsenter -t "$pid" --net --uts --mount --pid --wd="$JOBS_DIR" -- \
    env -i PATH="$JOBS_BIN:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" HOME="$JOBS_USER_HOME" \
    USER=tccpuser LOGNAME=tccpuser LANG=C.UTF-8 NO_COLOR=1 TERM="${TERM:-dumb}" \
    TCCP_HOME="$JOBS_HOME" EDITOR="${EDITOR:-cat}" \
    runuser -u tccpuser -- "$@"
}

# on_login_sh SCRIPT: runs a shell script line as tccpuser on login.
on_login_sh() {
  on_login sh -c "$1"
}

jobs_setup_file() {
  jobs_names "$1"
  cluster_setup_file
  cluster_is_root || return 0
  [ -x "$TCCP_BIN_DIR/tccp-alloc" ] || return 0
  rm -rf "$JOBS_BASE"
  mkdir -p "$JOBS_DIR" "$JOBS_HOME" "$JOBS_BIN"
  local tool
  for tool in "$TCCP_BIN_DIR"/tccp "$TCCP_BIN_DIR"/tccp-*; do
    install -s -m 0755 "$tool" "$JOBS_BIN/"
  done
  cp -R "$TCCP_SOURCE_DIR/tests/bats/fixtures/jobs-project/." "$JOBS_DIR/"
  printf 'name: %s\n' "$JOBS_PROJECT" >>"$JOBS_DIR/tccp.yaml"
  cat >"$JOBS_HOME/config.yaml" <<EOF
cluster:
  host: local
  remote_root: $JOBS_ROOT
  python: $TCCP_CLUSTER_PYTHON
  pip_index: $TCCP_CLUSTER_PIP_INDEX
  system_site_packages: true
  alloc_idle_timeout: ${JOBS_IDLE_TIMEOUT:-5m}
EOF
  chown -R tccpuser: "$JOBS_USER_HOME/bats-jobs"
  chmod 700 "$JOBS_HOME"
}

jobs_setup() {
  cluster_require
  jobs_names "$JOBS_SUITE"
}

# Releases every allocation of the suite's project (only those: tccp:<project>).
jobs_teardown_file() {
  cluster_is_root || return 0
  [ -d "${JOBS_DIR:-/nonexistent}" ] || return 0
  on_login tccp-alloc release >/dev/null 2>&1 || true
  # A run a test left busy keeps its holder: the suite's jobs go too, by name.
  on_login scancel -u tccpuser -n "tccp:$JOBS_PROJECT" >/dev/null 2>&1 || true
}

sync_tree() {
  on_login tccp-sync -q push </dev/null >/dev/null
}

job_doc() {
  on_login tccp-config resolve "$@"
}

# run_job JOB [EXTRA...]: resolve | ensure | start -- EXTRA | attach, off a
# terminal (attach follows the log and exits with the program's status).
run_job() {
  local job=$1
  shift
  on_login_sh "tccp-config resolve $job | tccp-alloc ensure | tccp-sync -q push | tccp-launch start -- $(jobs_quote "$@") | tccp-logs attach"
}

# jobs_quote WORDS...: each word single-quoted for sh.
jobs_quote() {
  local w out=
  for w in "$@"; do
    out+="'${w//\'/\'\\\'\'}' "
  done
  printf '%s' "$out"
}

# json_field JSON PATH: a field of a JSON document (python3 on this machine).
json_field() {
  python3 -c 'import json,sys
d=json.loads(sys.argv[1].strip().splitlines()[-1])
for k in sys.argv[2].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print("null" if d is None else (json.dumps(d) if isinstance(d,(dict,list,bool)) else d))' "$1" "$2"
}

# squeue_of ID FORMAT: one squeue field of a job, as tccpuser.
squeue_of() {
  on_login squeue -h -t all -j "$1" -o "$2" 2>/dev/null
}
