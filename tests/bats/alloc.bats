#!/usr/bin/env bats
# tccp-alloc: ensure (reuse or a new holder), list, release, refusals in
# words, the idle timeout. The cluster tests run the tool on login with
# `host: local` (see helpers/jobs.bash); the first ones need no cluster.

load 'helpers/common'
load 'helpers/cluster'
load 'helpers/jobs'

setup_file() {
  export JOBS_IDLE_TIMEOUT=5m
  jobs_setup_file alloc
}

teardown_file() {
  jobs_teardown_file
}

setup() {
  common_setup
}

teardown() {
  if [ -n "${OTHER_JOB:-}" ]; then on_login scancel "$OTHER_JOB" || true; fi
}

# alloc_ended ID: squeue no longer shows the job holding a node.
alloc_ended() {
  ! squeue_of "$1" '%T' | grep -qE 'PENDING|RUNNING|COMPLETING|CONFIGURING'
}

@test "alloc: ensure without a document on stdin is a usage error" {
  run -2 tccp-alloc ensure </dev/null
  assert_output --partial "expected a 'job' document on standard input, got nothing"
}

@test "alloc: an error document from upstream passes through unchanged with its exit code" {
  local err='{"tccp":"1.0","type":"error","data":{"code":"config","exit_code":3,"message":"tccp.yaml:2:1: bad","hint":null,"tool":"tccp-config"},"warnings":[]}'
  run -3 --separate-stderr tccp-alloc ensure <<<"$err"
  assert_output "$err"
}

@test "alloc: a job document without resources is a protocol error" {
  run -4 tccp-alloc ensure <<<'{"tccp":"1.0","type":"job","data":{"project":"p","cluster":{"host":"local"}}}'
  assert_output --partial 'the job document has no "resources"'
}

@test "alloc: release refuses a target that is neither an id nor all" {
  run -2 tccp-alloc release train
  assert_output --partial "'train' is not an allocation id"
}

@test "alloc: ensure submits a holder named tccp:<project> with the job's resources and waits until it runs" {
  jobs_setup
  run -0 --separate-stderr on_login_sh "tccp-config resolve main | tccp-alloc ensure"
  local doc=$output
  assert_equal "$(json_field "$doc" data.allocation.name)" "tccp:$JOBS_PROJECT"
  assert_equal "$(json_field "$doc" data.allocation.state)" RUNNING
  assert_equal "$(json_field "$doc" data.allocation.memory_mb)" 1024
  assert_equal "$(json_field "$doc" data.allocation.cpus)" 1
  assert_equal "$(json_field "$doc" data.allocation.gpu_count)" 0
  assert_equal "$(json_field "$doc" data.allocation.reused)" false
  [[ "$(json_field "$doc" data.allocation.node)" =~ ^c[12]$ ]]
  # The job document is passed on with the allocation added.
  assert_equal "$(json_field "$doc" data.job)" main
  local id
  id=$(json_field "$doc" data.allocation.id)
  run -0 on_login scontrol show job "$id"
  assert_output --partial "JobName=tccp:$JOBS_PROJECT"
  assert_output --partial "WorkDir=$JOBS_ROOT/allocs"
  assert_output --partial "StdOut=$JOBS_ROOT/allocs/$id.log"
  assert_output --partial "Requeue=0"
  # Held longer than the job (10 min) so the next run fits in what is left.
  assert_output --partial "TimeLimit=01:10:00"
}

@test "alloc: a second ensure reuses the idle allocation with no wait" {
  jobs_setup
  run -0 --separate-stderr on_login_sh "tccp-config resolve main | tccp-alloc ensure"
  local first
  first=$(json_field "$output" data.allocation.id)
  run -0 --separate-stderr on_login_sh "tccp-config resolve main | tccp-alloc ensure"
  assert_equal "$(json_field "$output" data.allocation.id)" "$first"
  assert_equal "$(json_field "$output" data.allocation.reused)" true
  assert_equal "$(json_field "$output" data.allocation.waited_s)" 0
  [[ "$stderr" == *"reusing allocation $first"* ]]
}

@test "alloc: a job asking for more memory gets a new allocation" {
  jobs_setup
  run -0 --separate-stderr on_login_sh "tccp-config resolve main | tccp-alloc ensure"
  local small
  small=$(json_field "$output" data.allocation.id)
  run -0 --separate-stderr on_login_sh "tccp-config resolve big | tccp-alloc ensure"
  assert_equal "$(json_field "$output" data.allocation.memory_mb)" 2048
  assert_equal "$(json_field "$output" data.allocation.reused)" false
  [ "$(json_field "$output" data.allocation.id)" != "$small" ]
}

@test "alloc: a GPU job lands on the gpu partition with the GRES asked" {
  jobs_setup
  run -0 --separate-stderr on_login_sh "tccp-config resolve gpu | tccp-alloc ensure"
  assert_equal "$(json_field "$output" data.allocation.partition)" gpu
  assert_equal "$(json_field "$output" data.allocation.gpu_type)" a100
  assert_equal "$(json_field "$output" data.allocation.gpu_count)" 1
  assert_equal "$(json_field "$output" data.allocation.node)" c1
  run -0 squeue_of "$(json_field "$output" data.allocation.id)" '%b'
  assert_output "gres:gpu:a100:1"
}

@test "alloc: sbatch refusals are explained in words with exit 7" {
  jobs_setup
  run -7 --separate-stderr on_login_sh "tccp-config resolve main | sed 's/\"partition\":null/\"partition\":\"nosuch\"/' | tccp-alloc ensure"
  [[ "$stderr" == *"error: the cluster has no partition 'nosuch' (SLURM: Batch job submission failed: Invalid partition name specified)"* ]]
  [[ "$stderr" == *"hint: "* ]]
  # The error document goes on down the pipe.
  assert_equal "$(json_field "$output" type)" error
  assert_equal "$(json_field "$output" data.exit_code)" 7

  run -7 --separate-stderr on_login_sh "tccp-config resolve main | sed 's/\"memory_mb\":1024/\"memory_mb\":900000/' | tccp-alloc ensure"
  [[ "$stderr" == *"error: no node of the cluster can provide 900000 MB of memory, 1 CPU (SLURM: Batch job submission failed: Requested node configuration is not available)"* ]]
  [[ "$stderr" == *"hint: ask for less memory or fewer cpus"* ]]

  run -7 --separate-stderr on_login_sh "tccp-config resolve gpu | sed 's/\"gpu_type\":\"a100\"/\"gpu_type\":\"h100\"/' | tccp-alloc ensure"
  [[ "$stderr" == *"error: no node of the cluster can provide 1 h100 GPU"* ]]
}

@test "alloc: a time limit the partition never allows is refused and its holder cancelled" {
  jobs_setup
  # The gpu partition's MaxTime is one day.
  run -7 --separate-stderr on_login_sh "tccp-config resolve gpu | sed 's/\"time_limit_s\":600/\"time_limit_s\":172800/' | tccp-alloc ensure"
  [[ "$stderr" == *"SLURM will never start this allocation: its time limit is above the partition's maximum (PartitionTimeLimit"* ]]
  run -0 on_login squeue -h --me -t pending -n "tccp:$JOBS_PROJECT" -o %i
  assert_output ""
}

@test "alloc: list shows each allocation with node, resources, time left and what uses it" {
  jobs_setup
  run -0 --separate-stderr on_login_sh "tccp-config resolve main | tccp-alloc ensure"
  local id
  id=$(json_field "$output" data.allocation.id)
  run -0 --separate-stderr on_login tccp-alloc --json list
  assert_equal "$(json_field "$output" type)" allocations
  run -0 python3 -c 'import json,sys
d=json.loads(sys.argv[1])
a=[x for x in d["data"]["allocations"] if x["id"]==sys.argv[2]][0]
print(a["state"], a["idle"], a["project"], a["memory_mb"], a["time_left_s"] > 0, a["runs"])' "$output" "$id"
  assert_output "RUNNING True $JOBS_PROJECT 1024 True []"
  # For people: a table on a terminal.
  run -0 on_login script -qec "tccp-alloc list" /dev/null
  assert_output --partial "$id"
  assert_output --partial "tccp:$JOBS_PROJECT"
  assert_output --partial "idle"
}

@test "alloc: release frees the idle allocations of this project and never another job of the user" {
  jobs_setup
  run -0 --separate-stderr on_login_sh "tccp-config resolve main | tccp-alloc ensure"
  local id
  id=$(json_field "$output" data.allocation.id)
  OTHER_JOB=$(on_login sbatch --parsable -J not-tccp -t 5 --mem=100M -o /dev/null --chdir=/tmp --wrap 'sleep 300')
  run -1 --separate-stderr on_login tccp-alloc --json release "$OTHER_JOB"
  assert_equal "$(json_field "$output" data.kept.0.id)" "$OTHER_JOB"
  run -0 --separate-stderr on_login tccp-alloc --json release
  [[ "$output" == *"\"$id\""* ]]
  [[ "$output" != *"\"$OTHER_JOB\""* ]]
  wait_until 20 alloc_ended "$id"
  run -0 squeue_of "$OTHER_JOB" '%T'
  assert_output --regexp '^(PENDING|RUNNING)$'
}

@test "alloc: an idle holder gives its node back after the idle timeout" {
  jobs_setup
  local home=$JOBS_BASE/idle-home
  mkdir -p "$home"
  sed 's/alloc_idle_timeout: .*/alloc_idle_timeout: 6s/' "$JOBS_HOME/config.yaml" >"$home/config.yaml"
  chown -R tccpuser: "$home"
  chmod 700 "$home"
  # Its own resources, so that no other test's allocation is reused.
  run -0 --separate-stderr env JOBS_HOME="$home" bash -c "$(declare -f on_login on_login_sh jobs_login_pid); on_login_sh \"tccp-config resolve main | sed 's/\\\"memory_mb\\\":1024/\\\"memory_mb\\\":1500/' | tccp-alloc ensure\""
  local id
  id=$(json_field "$output" data.allocation.id)
  assert_equal "$(json_field "$output" data.allocation.memory_mb)" 1500
  wait_until 40 alloc_ended "$id"
  run -0 on_login sacct -n -X -P -j "$id" -o State
  assert_output COMPLETED
  run -0 on_login cat "$JOBS_ROOT/allocs/$id.log"
  assert_output --partial "idle for 6s, releasing the node"
}
