#!/usr/bin/env bats
# tccp-launch: start (one step: env init + the program under dtach), exit
# codes, arguments and environment, cancel, jobs (the cluster is the truth),
# lost and TIMEOUT runs, GPUs, info. The tools run on login with
# `host: local` (helpers/jobs.bash).

load 'helpers/common'
load 'helpers/cluster'
load 'helpers/jobs'

setup_file() {
  jobs_setup_file launch
  cluster_is_root || return 0
  sync_tree
}

teardown_file() {
  jobs_teardown_file
}

setup() {
  common_setup
}

# start JOB [EXTRA...]: resolve | ensure | start, prints the started document.
start() {
  local job=$1
  shift
  on_login_sh "tccp-config resolve $job | tccp-alloc -q ensure | tccp-sync -q push | tccp-launch start -- $(jobs_quote "$@")"
}

# run_state RUN_ID: the run's state as `tccp-launch jobs` reports it.
run_state() {
  local doc
  doc=$(on_login tccp-launch --json jobs --all 2>/dev/null) || return 1
  python3 -c 'import json,sys
d=json.loads(sys.argv[1])
print([r for r in d["data"]["runs"] if r["id"]==sys.argv[2]][0]["state"])' "$doc" "$1"
}

state_is() { [ "$(run_state "$1")" = "$2" ]; }

# reason_is RUN_ID REASON: what `tccp-launch info` says about the run.
reason_is() {
  local doc
  doc=$(on_login tccp-launch --json info "$1" 2>/dev/null) || return 1
  [ "$(json_field "$doc" data.run.reason)" = "$2" ]
}

seen_field() { # seen_field OUTPUT FIELD: a field of main.py's SEEN line
  python3 -c 'import json,sys
line=[l for l in sys.argv[1].splitlines() if l.startswith("SEEN ")][-1]
v=json.loads(line[5:])[sys.argv[2]]
print(json.dumps(v) if isinstance(v,(list,dict)) else v)' "$1" "$2"
}

@test "launch: start without an allocation in the document is a protocol error" {
  make_project "$BATS_TEST_TMPDIR/p"
  global_config 'cluster: {host: local}'
  cd "$BATS_TEST_TMPDIR/p"
  run -4 --separate-stderr bash -c 'tccp-config resolve | tccp-launch start'
  [[ "$stderr" == *'the job document has no "allocation"'* ]]
  [[ "$stderr" == *"hint: pipe it through 'tccp-alloc ensure' first"* ]]
}

@test "launch: the program's exit codes 0 and 3 come back exactly" {
  jobs_setup
  run -0 --separate-stderr run_job main
  [[ "$output" == *'SEEN {"argv": []'* ]]
  run -3 --separate-stderr run_job main exit=3
  [[ "$stderr" == *"failed, exit code 3: the program exited with code 3"* ]]
}

@test "launch: extra arguments with spaces, quotes and \$ arrive intact after the configured ones" {
  jobs_setup
  run -0 --separate-stderr run_job main "two words" "it's" '$HOME' 'a"b' ''
  assert_equal "$(seen_field "$output" argv)" '["two words", "it'"'"'s", "$HOME", "a\"b", ""]'
}

@test "launch: the program gets the job's environment and env file, unbuffered, without step-scoped SLURM variables" {
  jobs_setup
  run -0 --separate-stderr run_job main
  assert_equal "$(seen_field "$output" greeting)" "hello there"
  assert_equal "$(seen_field "$output" secret)" "s3 cret"
  assert_equal "$(seen_field "$output" unbuffered)" 1
  assert_equal "$(seen_field "$output" slurm_step)" "[]"
  [[ "$(seen_field "$output" job_id)" =~ ^[0-9]+$ ]]
  [[ "$(seen_field "$output" venv)" == "$JOBS_ROOT/venvs/python-py3."* ]]
  [[ "$(seen_field "$output" cwd)" == "$JOBS_ROOT/projects/$JOBS_PROJECT/runs/main-"* ]]
}

@test "launch: start returns once the step runs, with the run's id, node, allocation and step" {
  jobs_setup
  run -0 --separate-stderr start tick 25
  local doc=$output
  local id
  id=$(json_field "$doc" data.run.id)
  [[ "$id" =~ ^tick-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$ ]]
  [[ "$(json_field "$doc" data.run.state)" =~ ^(initializing|running)$ ]]
  [[ "$(json_field "$doc" data.run.step_id)" =~ ^[0-9]+$ ]]
  assert_equal "$(json_field "$doc" data.run.alloc_id)" "$(json_field "$doc" data.allocation.id)"
  assert_equal "$(json_field "$doc" data.run.node)" "$(json_field "$doc" data.allocation.node)"
  assert_equal "$(json_field "$doc" data.run.extra_args)" '["25"]'
  # The step is there in SLURM, named after the run.
  run -0 on_login squeue -h -s -j "$(json_field "$doc" data.run.alloc_id)" -o '%i %j'
  assert_output --partial "$(json_field "$doc" data.run.alloc_id).$(json_field "$doc" data.run.step_id) $id"
  wait_until 30 state_is "$id" finished
}

@test "launch: cancel during init stops the run and leaves no venv lock" {
  jobs_setup
  # A requirement no other test has: a venv of its own, built now (pip).
  on_login_sh "printf 'tccp-demo-extra>=0.0.$RANDOM\n' > requirements.txt"
  sync_tree
  run -0 --separate-stderr start main
  local id
  id=$(json_field "$output" data.run.id)
  on_login_sh "rm -f requirements.txt"
  sync_tree
  run -0 --separate-stderr on_login tccp-launch --json cancel "$id"
  assert_equal "$(json_field "$output" data.run.state)" cancelled
  assert_equal "$(json_field "$output" data.run.reason)" "cancelled by the user"
  assert_equal "$(json_field "$output" data.run.started_at)" null
  run -0 on_login_sh "ls -d '$JOBS_ROOT'/venvs/*.lock 2>/dev/null | wc -l"
  assert_output 0
}

@test "launch: cancel while it runs; the log stops and the run is cancelled" {
  jobs_setup
  run -0 --separate-stderr start tick
  local id
  id=$(json_field "$output" data.run.id)
  wait_until 20 on_login_sh "grep -q 'tick 3' '$JOBS_ROOT/projects/$JOBS_PROJECT/runs/$id/tccp.log'"
  run -0 --separate-stderr on_login tccp-launch --json cancel tick
  assert_equal "$(json_field "$output" data.run.id)" "$id"
  assert_equal "$(json_field "$output" data.run.state)" cancelled
  assert_equal "$(json_field "$output" data.run.signal)" TERM
  # Attaching to a cancelled run ends at once with 130.
  run -130 --separate-stderr on_login_sh "tccp-logs tail tick 1 --follow"
}

@test "launch: jobs lists every run in one call and rebuilds the local state when it is deleted" {
  jobs_setup
  run -0 --separate-stderr start tick 50
  local id
  id=$(json_field "$output" data.run.id)
  on_login_sh "rm -rf '$JOBS_HOME/projects'"
  run -0 --separate-stderr on_login tccp-launch --json jobs --all
  assert_equal "$(json_field "$output" data.project)" "$JOBS_PROJECT"
  [[ "$output" == *"\"id\":\"$id\""* ]]
  assert_equal "$(run_state "$id")" running
  run -0 on_login_sh "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2] in [r[\"id\"] for r in d[\"runs\"]])' '$JOBS_HOME/projects/$JOBS_PROJECT/runs.json' '$id'"
  assert_output True
  # For people: the newest run of each job, state, node, duration, exit code.
  run -0 on_login script -qec "tccp-launch jobs" /dev/null
  assert_output --partial "JOB"
  assert_output --partial "$id"
  assert_output --partial "running"
  on_login tccp-launch cancel "$id" >/dev/null
}

@test "launch: a run whose allocation is cancelled from outside is reported lost with the reason" {
  jobs_setup
  run -0 --separate-stderr start tick
  local id alloc
  id=$(json_field "$output" data.run.id)
  alloc=$(json_field "$output" data.run.alloc_id)
  wait_until 20 state_is "$id" running
  on_login scancel "$alloc"
  local reason="the allocation was cancelled outside tccp (scancel) (allocation $alloc: CANCELLED)"
  wait_until 30 reason_is "$id" "$reason"
  assert_equal "$(run_state "$id")" lost
  # Recorded on the cluster: the raw status says so too.
  run -0 on_login_sh "grep -x 'state=lost' '$JOBS_ROOT/projects/$JOBS_PROJECT/runs/$id/status'"
}

@test "launch: a GPU run sees exactly its allocation's GPUs in CUDA_VISIBLE_DEVICES" {
  jobs_setup
  run -0 --separate-stderr on_login_sh "tccp-config resolve gpu | tccp-alloc -q ensure | tccp-sync -q push | tccp-launch start | tccp-logs attach"
  assert_equal "$(seen_field "$output" cuda)" 0
  local job
  job=$(seen_field "$output" job_id)
  run -0 on_login scontrol show job -d "$job"
  assert_output --partial "GRES=gpu:a100:1(IDX:0)"
}

@test "launch: info shows the ids, node, times, exit code, init stage timings and code digest" {
  jobs_setup
  run -3 --separate-stderr run_job main exit=3
  run -0 --separate-stderr on_login tccp-launch --json info main
  assert_equal "$(json_field "$output" data.run.state)" failed
  assert_equal "$(json_field "$output" data.run.exit_code)" 3
  [[ "$(json_field "$output" data.run.alloc_id)" =~ ^[0-9]+$ ]]
  [[ "$(json_field "$output" data.run.step_id)" =~ ^[0-9]+$ ]]
  [[ "$(json_field "$output" data.run.started_at)" =~ ^20[0-9-]+T[0-9:]+Z$ ]]
  [[ "$(json_field "$output" data.run.ended_at)" =~ ^20[0-9-]+T[0-9:]+Z$ ]]
  assert_equal "$(json_field "$output" data.init_stages.0.stage)" runtime
  assert_equal "$(json_field "$output" data.init_stages.3.stage)" venv
  run -0 python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("code_digest" in d["data"]["run"])' "$output"
  assert_output True
}

@test "launch: a run past its time limit is reported TIMEOUT" {
  jobs_setup
  run -1 --separate-stderr on_login_sh "tccp-config resolve short | tccp-alloc -q ensure | tccp-sync -q push | tccp-launch start | tccp-logs attach >/dev/null"
  [[ "$stderr" == *"TIMEOUT"* ]]
  [[ "$stderr" == *"hit its time limit of 60s"* ]]
  run -0 on_login script -qec "tccp-launch jobs" /dev/null
  assert_output --regexp "short +short-[^ ]+ +TIMEOUT"
}
