#!/usr/bin/env bats
# tccp-config on real files in a temporary project.

load helpers/common

setup() {
    common_setup
    P="$BATS_TEST_TMPDIR/demo"
}

@test "config: resolve prints a job document off a terminal" {
    make_project "$P" 'script: train.py'
    cd "$P"
    run --separate-stderr tccp-config resolve
    assert_success
    [ "$(jq -r '.tccp + " " + .type' <<<"$output")" = "1.0 job" ]
    [ "$(jq -r '.data.project_dir' <<<"$output")" = "$P" ]
    [ "$(jq -r '.data.project' <<<"$output")" = "demo" ]
    [ "$(jq -r '.data.job' <<<"$output")" = "main" ]
    [ "$(jq -r '.data.script' <<<"$output")" = "train.py" ]
    [ "$(jq -c '.data.resources' <<<"$output")" = '{"gpu_type":null,"gpu_count":0,"memory_mb":4096,"cpus":1,"time_limit_s":3600,"partition":null,"exclude_nodes":[]}' ]
}

@test "config: the guide's full example resolves to the golden document" {
    cp -r "$TCCP_SOURCE_DIR/tests/golden/guide/full" "$BATS_TEST_TMPDIR/full"
    touch "$BATS_TEST_TMPDIR/full/train.py" "$BATS_TEST_TMPDIR/full/eval.py"
    mkdir "$BATS_TEST_TMPDIR/full/data"
    run --separate-stderr tccp-config -C "$BATS_TEST_TMPDIR/full" resolve train
    assert_success
    assert_equal "$stderr" ""
    normalised=$(jq --indent 2 '.data.project_dir = "/home/user/full"' <<<"$output")
    assert_equal "$normalised" "$(cat "$TCCP_SOURCE_DIR/tests/golden/job-full-train.json")"
}

@test "config: the project root is the nearest parent holding tccp.yaml" {
    make_project "$P"
    mkdir -p "$P/src/deep"
    cd "$P/src/deep"
    run --separate-stderr tccp-config resolve
    assert_success
    [ "$(jq -r '.data.project_dir' <<<"$output")" = "$P" ]
}

@test "config: -C runs in another directory, before or after the command" {
    make_project "$BATS_TEST_TMPDIR/with space" 'name: spaced'
    run --separate-stderr tccp-config -C "$BATS_TEST_TMPDIR/with space" resolve
    assert_success
    [ "$(jq -r '.data.project' <<<"$output")" = "spaced" ]
    [ "$(jq -r '.data.project_dir' <<<"$output")" = "$BATS_TEST_TMPDIR/with space" ]
    run --separate-stderr tccp-config resolve -C "$BATS_TEST_TMPDIR/with space"
    assert_success
    [ "$(jq -r '.data.project' <<<"$output")" = "spaced" ]
}

@test "config: -C to a missing directory is a usage error" {
    run --separate-stderr tccp-config -C "$BATS_TEST_TMPDIR/nope" resolve
    [ "$status" -eq 2 ]
    assert_equal "$stderr" "tccp-config: error: cannot change to '$BATS_TEST_TMPDIR/nope': no such directory"
}

@test "config: no tccp.yaml is a config error with a hint to register" {
    mkdir -p "$P"
    cd "$P"
    run --separate-stderr tccp-config resolve
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: no tccp.yaml in '$P' or any parent directory
hint: run 'tccp register' to create one here"
}

@test "config: an unknown field is reported at its line and column, exit 3" {
    make_project "$P" - <<'YAML'
type: python
jobs:
  train:
    script: train.py
    memroy: 8G
YAML
    cd "$P"
    run --separate-stderr tccp-config resolve train
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: tccp.yaml:5:5: jobs.train.memroy: unknown field, expected one of: script, package, args, ports, environment, gpu, gpu_count, memory, cpus, time, partition, exclude_nodes
hint: did you mean 'memory'?"
    # stdout carries the same error as a document for the next tool in a pipe
    [ "$(jq -r '.type' <<<"$output")" = "error" ]
    [ "$(jq -r '.data.exit_code' <<<"$output")" = "3" ]
    [ "$(jq -r '.data.hint' <<<"$output")" = "did you mean 'memory'?" ]
}

@test "config: bad values name the field, what is wrong and what was expected" {
    make_project "$P" 'memory: 4X'
    run --separate-stderr tccp-config -C "$P" validate
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: tccp.yaml:1:9: memory: '4X' is not a memory size, expected a size with an optional K, M, G or T suffix (e.g. 32G; a plain number is MB)"

    make_project "$P" 'time: 1:75:00'
    run --separate-stderr tccp-config -C "$P" validate
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: tccp.yaml:1:7: time: '1:75:00' is not a time limit, expected a SLURM time: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (e.g. \"8:00:00\")"

    make_project "$P" 'ports: [6006, 99999]'
    run --separate-stderr tccp-config -C "$P" validate
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: tccp.yaml:1:15: ports[1]: 99999 is out of range, expected a port number 1-65535"

    make_project "$P" 'cpus: 0'
    run --separate-stderr tccp-config -C "$P" validate
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: tccp.yaml:1:7: cpus: 0 is out of range, expected a whole number >= 1"
}

@test "config: script and package together is an error" {
    make_project "$P" - <<'YAML'
jobs:
  serve:
    script: serve.py
    package: app
YAML
    run --separate-stderr tccp-config -C "$P" validate
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: tccp.yaml:4:5: jobs.serve.package: given together with 'script', expected either script or package, not both"
}

@test "config: a message names tccp.yaml relative to the directory tccp-config ran in" {
    make_project "$P" 'gpu: a10O'
    mkdir -p "$P/src"
    cd "$P/src"
    run --separate-stderr tccp-config validate
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: ../tccp.yaml:1:6: gpu: 'a10O' is not a known GPU type, expected a GPU type (t4, p100, rtx_6000, v100, a100-40gb, rtx_a5000, l40, rtx_a6000, rtx_6000ada, a100-80gb, l40s, h100, a100, or none), optionally with :COUNT
hint: did you mean 'a100'?"
}

@test "config: a file that is not YAML is reported with its position" {
    make_project "$P" - <<'YAML'
jobs:
  train: [train.py
YAML
    run --separate-stderr tccp-config -C "$P" validate
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: tccp.yaml:3:1: not valid YAML: end of sequence flow not found
hint: check the indentation (spaces, not tabs) and quote values with ':' or '#'"
}

@test "config: an unreadable tccp.yaml is a config error" {
    mkdir -p "$P/tccp.yaml"
    run --separate-stderr tccp-config -C "$P" validate
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: tccp.yaml: cannot read: is a directory
hint: make it a readable file"
}

@test "config: errors in the global config name its path" {
    make_project "$P"
    global_config $'cluster:\n  host: login\n  prot: 22'
    run --separate-stderr tccp-config -C "$P" resolve
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: ~/.tccp/config.yaml:3:3: cluster.prot: unknown field, expected one of: name, host, port, user, identity_files, known_hosts, askpass, proxy_jump, remote_root, default_partition, gpu_partition, runtime, images, modules, system_site_packages, pip_index, python, alloc_idle_timeout, connect_idle_timeout, gpu_types
hint: did you mean 'port'?"
}

@test "config: precedence is global < project < job, shown with --show-origin" {
    global_config $'memory: 8G\ntime: "2:00:00"\ncpus: 2\ncluster:\n  host: login.example.edu'
    make_project "$P" - <<'YAML'
time: "3:00:00"
jobs:
  train:
    script: train.py
    cpus: 6
YAML
    run --separate-stderr tccp-config -C "$P" resolve --show-origin
    assert_success
    [ "$(jq -c '[.data.resources.memory_mb, .data.resources.time_limit_s, .data.resources.cpus]' <<<"$output")" = '[8192,10800,6]' ]
    [ "$(jq -c '.data.origins | [."resources.memory_mb", ."resources.time_limit_s", ."resources.cpus", .output]' <<<"$output")" = '["global","project","job","default"]' ]
    [ "$(jq -r '.data.cluster.host' <<<"$output")" = "login.example.edu" ]
}

@test "config: a GPU bumps memory, cpus and partition unless written" {
    make_project "$P" - <<'YAML'
gpu: h100
jobs:
  big: big.py
  small:
    script: small.py
    memory: 16G
YAML
    run --separate-stderr tccp-config -C "$P" resolve big
    assert_success
    [ "$(jq -c '.data.resources | [.gpu_type, .gpu_count, .memory_mb, .cpus, .partition]' <<<"$output")" = '["h100",1,65536,4,"gpu"]' ]
    run --separate-stderr tccp-config -C "$P" resolve small
    [ "$(jq -c '.data.resources | [.memory_mb, .cpus]' <<<"$output")" = '[16384,4]' ]
}

@test "config: on a terminal resolve prints a table, with an origin column on request" {
    make_project "$P" $'gpu: a100:2\nmemory: 100G'
    touch "$P/main.py"
    cd "$P"
    run on_tty tccp-config resolve --show-origin
    assert_success
    assert_line --index 0 --regexp '^FIELD +VALUE +ORIGIN$'
    assert_line --regexp '^gpu +a100:2 +project$'
    assert_line --regexp '^memory +100G +project$'
    assert_line --regexp '^cpus +4 +default$'
    assert_line --regexp '^partition +gpu +default$'
}

@test "config: --json forces JSON on a terminal" {
    make_project "$P"
    touch "$P/main.py"
    cd "$P"
    run on_tty tccp-config --json resolve
    assert_success
    [ "$(jq -r .type <<<"$output")" = "job" ]
}

@test "config: several jobs and no name lists them, exit 2" {
    make_project "$P" $'jobs:\n  train: train.py\n  eval: eval.py'
    run --separate-stderr tccp-config -C "$P" resolve
    [ "$status" -eq 2 ]
    assert_equal "$stderr" "tccp-config: error: tccp.yaml has 2 jobs, name one: train, eval
hint: e.g. 'tccp run train'"
    run --separate-stderr tccp-config -C "$P" resolve trian
    [ "$status" -eq 2 ]
    assert_equal "$stderr" "tccp-config: error: no job 'trian' in tccp.yaml
hint: did you mean 'train'?"
}

@test "config: jobs lists every job resolved" {
    make_project "$P" $'gpu: v100\njobs:\n  train: train.py\n  eval:\n    script: eval.py\n    gpu: none'
    run --separate-stderr tccp-config -C "$P" jobs
    assert_success
    [ "$(jq -r .type <<<"$output")" = "jobs" ]
    [ "$(jq -c '[.data.jobs[] | [.job, .resources.gpu_type, .resources.gpu_count]]' <<<"$output")" = '[["train","v100",1],["eval",null,0]]' ]
    [ "$(jq -r '.data.default_job' <<<"$output")" = "null" ]
}

@test "config: validate exits 0 for a good file and warns about a missing script" {
    make_project "$P" 'script: train.py'
    run --separate-stderr tccp-config -C "$P" validate
    assert_success
    assert_equal "$stderr" "tccp-config: warning: script 'train.py' of job 'main' is not in the project"
    [ "$(jq -r '.warnings[0]' <<<"$output")" = "script 'train.py' of job 'main' is not in the project" ]
    touch "$P/train.py"
    run --separate-stderr tccp-config -C "$P" validate
    assert_success
    assert_equal "$stderr" ""
    [ "$(jq -c '[.type, .data.valid, .data.jobs]' <<<"$output")" = '["validation",true,["main"]]' ]
}

@test "config: init scaffolds a project that validates" {
    mkdir -p "$P"
    cd "$P"
    run --separate-stderr tccp-config init
    assert_success
    [ "$(jq -c '.data.created' <<<"$output")" = '["tccp.yaml","requirements.txt","main.py",".gitignore"]' ]
    grep -qx 'output/' .gitignore
    grep -qx '.env' .gitignore
    run --separate-stderr tccp-config validate
    assert_success
    assert_equal "$stderr" ""
    run --separate-stderr tccp-config resolve
    [ "$(jq -r '.data.script' <<<"$output")" = "main.py" ]
}

@test "config: init never overwrites an existing file" {
    make_project "$P" 'script: mine.py'
    printf 'numpy\n' >"$P/requirements.txt"
    printf 'secret/\n' >"$P/.gitignore"
    run --separate-stderr tccp-config -C "$P" init
    assert_success
    [ "$(jq -c '.data.created' <<<"$output")" = '[]' ]
    [ "$(jq -c '.data.kept' <<<"$output")" = '["tccp.yaml","requirements.txt",".gitignore"]' ]
    [ "$(cat "$P/tccp.yaml")" = "script: mine.py" ]
    [ "$(cat "$P/requirements.txt")" = "numpy" ]
    [ "$(cat "$P/.gitignore")" = "secret/" ]
    [ ! -e "$P/main.py" ]
}

@test "config: init fills in only the missing files" {
    mkdir -p "$P"
    printf 'print(1)\n' >"$P/main.py"
    run --separate-stderr tccp-config -C "$P" init
    assert_success
    [ "$(jq -c '.data.created' <<<"$output")" = '["tccp.yaml","requirements.txt",".gitignore"]' ]
    [ "$(jq -c '.data.kept' <<<"$output")" = '["main.py"]' ]
    [ "$(cat "$P/main.py")" = "print(1)" ]
}

@test "config: cluster prints the profile of the global config" {
    global_config - <<'YAML'
cluster:
  host: login.hpc.example.edu
  user: ada
  remote_root: /scratch/ada/tccp
  runtime: apptainer
  alloc_idle_timeout: 15m
YAML
    run --separate-stderr tccp-config cluster
    assert_success
    [ "$(jq -c '[.type, .data.host, .data.user, .data.remote_root, .data.runtime, .data.alloc_idle_timeout_s, .data.port]' <<<"$output")" = '["cluster","login.hpc.example.edu","ada","/scratch/ada/tccp","apptainer",900,null]' ]
}

@test "config: without a command it shows every job of the project" {
    make_project "$P" $'jobs:\n  a: a.py\n  b: b.py'
    run --separate-stderr tccp-config -C "$P"
    assert_success
    [ "$(jq -c '[.type, [.data.jobs[].job]]' <<<"$output")" = '["project",["a","b"]]' ]
}

@test "config: jobs, validate and init write the documents of docs/protocol.md" {
    cp -r "$TCCP_SOURCE_DIR/tests/golden/guide/full" "$BATS_TEST_TMPDIR/full"
    touch "$BATS_TEST_TMPDIR/full/train.py" "$BATS_TEST_TMPDIR/full/eval.py"
    mkdir "$BATS_TEST_TMPDIR/full/data" "$BATS_TEST_TMPDIR/new"
    golden="$TCCP_SOURCE_DIR/tests/golden/protocol"

    run --separate-stderr tccp-config -C "$BATS_TEST_TMPDIR/full" jobs
    assert_success
    assert_equal "$(jq --indent 2 '.data.project_dir = "/home/user/full"' <<<"$output")" "$(cat "$golden/jobs.json")"

    run --separate-stderr tccp-config -C "$BATS_TEST_TMPDIR/full" validate
    assert_success
    assert_equal "$(jq --indent 2 '.data.file = "/home/user/full/tccp.yaml"' <<<"$output")" "$(cat "$golden/validation.json")"

    run --separate-stderr tccp-config -C "$BATS_TEST_TMPDIR/new" init
    assert_success
    assert_equal "$(jq --indent 2 '.data.project_dir = "/home/user/new"' <<<"$output")" "$(cat "$golden/scaffold.json")"
}
