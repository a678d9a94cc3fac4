#!/usr/bin/env bats
# End to end on the local cluster, job-level behaviour as a user sees it
# through `tccp` (one tccp-connect login, real SLURM, sshd and dtach): GPU
# runs, cancel during init and while running, restart, stdin through view,
# the connection dropping mid-run, an allocation scancel'ed from outside,
# TIMEOUT, and the idle holder giving its node back. Exit codes, arguments
# and allocation reuse are in e2e-run.bats.

load helpers/common
load helpers/cluster

# A hung test fails instead of holding the suite.
export BATS_TEST_TIMEOUT=240

setup_file() {
  cluster_setup_file
}

setup() {
  cluster_require
  common_setup
  export TCCP_HOME="$BATS_FILE_TMPDIR/tccp-home"
  P="$BATS_FILE_TMPDIR/proj"
  e2e_profile '~/.tccp-e2e-jobs' 'alloc_idle_timeout: 5m'
  if [ ! -d "$P" ]; then
    mkdir -p "$P"
    cp -R "$TCCP_SOURCE_DIR/tests/bats/fixtures/jobs-project/." "$P/"
    # A project name of its own: allocations of an earlier run of this
    # file are never mistaken for this one's.
    printf 'name: e2e-jobs-%s\n' "$$" >>"$P/tccp.yaml"
  fi
  tccp-connect start </dev/null >/dev/null 2>&1 3>&-
  cd "$P"
}

teardown() {
  cluster_teardown
}

teardown_file() {
  e2e_teardown_file
}

# run_field RUN_OR_JOB FIELD: a field of `tccp info` (JSON).
run_field() {
  local doc
  doc=$(tccp-launch --json info "$1" </dev/null 2>/dev/null) || return 1
  python3 -c 'import json,sys
v=json.loads(sys.argv[1])["data"]["run"][sys.argv[2]]
print("null" if v is None else v)' "$doc" "$2"
}

field_is() { [ "$(run_field "$1" "$2")" = "$3" ]; }

# log_has JOB TEXT: the run's log contains TEXT.
log_has() { tccp logs "$1" </dev/null 2>/dev/null | grep -qF "$2"; }

# started_id: the run id in a `tccp-launch start` document on stdin.
started_id() {
  python3 -c 'import json,sys; print(json.loads(sys.stdin.read().splitlines()[-1])["data"]["run"]["id"])'
}

# start JOB [ARGS...]: resolve | ensure | push | start, without attaching;
# prints the run id.
start() {
  local job=$1
  shift
  tccp-config resolve "$job" </dev/null | tccp-alloc -q ensure | tccp-sync -q push |
    tccp-launch -q start -- "$@" | started_id
}

seen_field() { # seen_field OUTPUT FIELD: a field of main.py's SEEN line
  python3 -c 'import json,sys
line=[l for l in sys.argv[1].splitlines() if l.startswith("SEEN ")][-1]
v=json.loads(line[5:])[sys.argv[2]]
print(json.dumps(v) if isinstance(v,(list,dict)) else v)' "$1" "$2"
}

@test "jobs: a GPU run lands on the gpu partition and sees exactly its allocation's GPUs" {
  run -0 --separate-stderr tccp run gpu </dev/null
  assert_equal "$(seen_field "$output" cuda)" 0
  local alloc
  alloc=$(seen_field "$output" job_id)
  run -0 cluster_ssh "squeue -h -j $alloc -o '%P %b %N'"
  assert_output "gpu gres:gpu:a100:1 c1"
  run -0 cluster_ssh "scontrol show job -d $alloc"
  assert_output --partial "GRES=gpu:a100:1(IDX:0)"
}

@test "jobs: cancel during init stops the run before the program starts" {
  # A requirement of its own: its venv is built now, with pip.
  printf 'tccp-demo-extra>=0.0.%s\n' "$RANDOM" >requirements.txt
  local id
  id=$(start main)
  rm -f requirements.txt
  run -0 --separate-stderr tccp-launch --json cancel "$id" </dev/null
  [[ "$output" == *'"state":"cancelled"'* ]]
  [[ "$output" == *'"reason":"cancelled by the user"'* ]]
  assert_equal "$(run_field "$id" state)" cancelled
  assert_equal "$(run_field "$id" started_at)" null
  run -0 --separate-stderr tccp logs "$id" </dev/null
  assert_output ""
}

@test "jobs: ssh reaches the running job's node; cancel while it runs stops the program" {
  local id
  id=$(start tick)
  wait_until 30 log_has "$id" "tick 5"
  run -0 --separate-stderr tccp ssh tick hostname </dev/null
  assert_output "$(run_field "$id" node)"
  run -0 --separate-stderr tccp ssh "$id" cat /proc/sys/kernel/hostname </dev/null
  assert_output "$(run_field "$id" node)"
  # On a terminal, through a pty; the step is in the allocation.
  run -0 script -qec "tccp ssh tick 'tty >/dev/null && echo \$SLURM_JOB_ID'" /dev/null
  # (srun --pty's NUL comes back as the terminal's echo "^@", as over ssh -t)
  assert_equal "$(printf '%s' "$output" | tr -d '\r' | sed 's/^\(\^@\)*//')" "$(run_field "$id" alloc_id)"
  run -0 --separate-stderr tccp-launch --json cancel tick </dev/null
  [[ "$output" == *"\"id\":\"$id\""* ]]
  [[ "$output" == *'"state":"cancelled"'* ]]
  assert_equal "$(run_field "$id" state)" cancelled
  assert_equal "$(run_field "$id" signal)" TERM
}

@test "jobs: restart cancels the run and runs the job again with the same arguments" {
  local id
  id=$(start main exit=4 "two words")
  run -4 --separate-stderr tccp restart main </dev/null
  [[ "$stderr" == *"$id"*"starting main again"* ]]
  assert_equal "$(seen_field "$output" argv)" '["exit=4", "two words"]'
  local again
  again=$(run_field main id)
  [ "$again" != "$id" ]
  assert_equal "$(run_field main exit_code)" 4
}

@test "jobs: a program reading stdin through view; Ctrl+\\ detaches and view comes back" {
  cat >"$BATS_TEST_TMPDIR/view.exp" <<EOF
set timeout 60
spawn tccp run echo
expect "ready" {} timeout { puts "FAIL: no ready"; exit 1 }
send "hello there\r"
expect "got hello there" {} timeout { puts "FAIL: input did not reach the program"; exit 1 }
send "\034"
expect eof {} timeout { puts "FAIL: no detach"; exit 1 }
spawn tccp view echo
expect -re {attaching.*got hello there} {} timeout { puts "FAIL: no history on re-attach"; exit 1 }
send "quit\r"
expect eof {} timeout { puts "FAIL: the program did not end"; exit 1 }
catch wait result
puts "VIEW-RC [lindex \$result 3]"
EOF
  run -0 expect "$BATS_TEST_TMPDIR/view.exp"
  output=$(printf '%s' "$output" | tr -d '\r')
  assert_output --partial "keeps running]"
  assert_output --partial "got quit"
  assert_output --partial "VIEW-RC 5"
}

@test "jobs: the connection dropping mid-run does not stop the job; after reconnecting, logs are complete and view reattaches" {
  tccp run tick 300 </dev/null >"$BATS_TEST_TMPDIR/run.out" 2>&1 3>&- &
  local pid=$!
  wait_until 60 grep -q "tick 3" "$BATS_TEST_TMPDIR/run.out"
  local master
  master=$(tccp-connect --json status </dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["pid"])')
  kill -9 "$master"
  # The attached client notices and gives up; the job does not.
  run wait "$pid"
  [ "$status" -ne 0 ]
  tccp-connect start </dev/null >/dev/null 2>&1 3>&-
  assert_equal "$(run_field tick state)" running
  cat >"$BATS_TEST_TMPDIR/view.exp" <<EOF
set timeout 60
spawn tccp view tick
expect "attaching" {} timeout { puts "FAIL: no re-attach"; exit 1 }
expect -re {tick [12][0-9][0-9]\r} {} timeout { puts "FAIL: no live output"; exit 1 }
send "\034"
expect eof {} timeout { puts "FAIL: no detach"; exit 1 }
EOF
  run -0 expect "$BATS_TEST_TMPDIR/view.exp"
  assert_output --partial "keeps running]"
  wait_until 90 field_is tick state finished
  run -0 --separate-stderr tccp logs tick </dev/null
  assert_equal "${#lines[@]}" 300
  assert_equal "${lines[0]}" "tick 0"
  assert_equal "${lines[299]}" "tick 299"
}

@test "jobs: an allocation scancel'ed from outside makes its run lost, with the reason" {
  local id alloc
  id=$(start tick)
  wait_until 30 log_has "$id" "tick 2"
  alloc=$(run_field "$id" alloc_id)
  cluster_ssh "scancel $alloc"
  wait_until 30 field_is "$id" reason "the allocation was cancelled outside tccp (scancel) (allocation $alloc: CANCELLED)"
  assert_equal "$(run_field "$id" state)" lost
  # The next run allocates anew.
  run -0 --separate-stderr tccp run main </dev/null
  [[ "$stderr" == *"submitted allocation"* ]]
}

@test "jobs: a job past its time limit is reported TIMEOUT" {
  run -1 --separate-stderr tccp run short </dev/null
  [[ "$stderr" == *"TIMEOUT: the run hit its time limit of 60s"* ]]
  assert_equal "$(run_field short state)" timeout
  run -0 script -qec "tccp jobs" /dev/null
  assert_output --regexp "short +short-[^ ]+ +TIMEOUT"
}

@test "jobs: an idle holder gives its node back after its (shortened) idle timeout" {
  sed 's/alloc_idle_timeout: .*/alloc_idle_timeout: 8s/' "$TCCP_HOME/config.yaml" >"$BATS_TEST_TMPDIR/config.yaml"
  cp "$BATS_TEST_TMPDIR/config.yaml" "$TCCP_HOME/config.yaml"
  run -0 --separate-stderr tccp run big </dev/null
  local alloc
  alloc=$(seen_field "$output" job_id)
  sed -i 's/alloc_idle_timeout: .*/alloc_idle_timeout: 5m/' "$TCCP_HOME/config.yaml"
  wait_until 60 cluster_job_is "$alloc" COMPLETED
}
