#!/usr/bin/env bats
# End to end on the local cluster: `tccp run` as a user types it, through
# the tccp-connect master (one password + TOTP login), real SLURM, real
# sshd, real dtach. Job-level behaviour (cancel, view, lost runs) is in
# e2e-jobs.bats.

load helpers/common
load helpers/cluster

# A hung test fails instead of holding the suite.
export BATS_TEST_TIMEOUT=300

setup_file() {
    cluster_setup_file
}

setup() {
    cluster_require
    common_setup
    # One profile and one master for the whole file: the state dir lives
    # in the file's temp dir, not the test's.
    export TCCP_HOME="$BATS_FILE_TMPDIR/tccp-home"
    e2e_profile '~/.tccp-e2e-run'
    tccp-connect start </dev/null >/dev/null 2>&1 3>&-
    P="$BATS_FILE_TMPDIR/proj"
    if [ ! -d "$P" ]; then
        mkdir -p "$P"
        # A project name of its own: allocations of an earlier run of this
        # file are never mistaken for this one's.
        cat >"$P/tccp.yaml" <<YAML
name: e2e-run-$$
time: "0:20:00"
memory: 1G
jobs:
  echo:
    script: echo_args.py
  fail:
    script: fail.py
  big:
    script: echo_args.py
    memory: 2G
  web:
    script: web.py
    ports: [18766]
YAML
        cat >"$P/web.py" <<'PY'
import http.server
class Once(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello through the tunnel\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
print("serving", flush=True)
# Serve one request, then end the run.
http.server.HTTPServer(("0.0.0.0", 18766), Once).handle_request()
PY
        cat >"$P/echo_args.py" <<'PY'
import json, os, sys
print("ARGS=" + json.dumps(sys.argv[1:]))
os.makedirs("output", exist_ok=True)
with open("output/args.json", "w") as f:
    json.dump(sys.argv[1:], f)
PY
        printf 'import sys\nprint("failing on purpose")\nsys.exit(3)\n' >"$P/fail.py"
    fi
    cd "$P"
}

teardown() {
    cluster_teardown
}

teardown_file() {
    e2e_teardown_file
}

@test "run: a job's output reaches the terminal and its exit code 0 is tccp's" {
    run --separate-stderr tccp run echo </dev/null
    assert_success
    assert_output 'ARGS=[]'
}

@test "run: a failing program's exit code 3 is reported exactly" {
    run --separate-stderr tccp run fail </dev/null
    assert_equal "$status" 3
    assert_output 'failing on purpose'
}

@test "run: extra args with spaces, quotes and \$ arrive intact" {
    run --separate-stderr tccp run echo --name "my run" "it's" '$HOME' 'a"b' </dev/null
    assert_success
    assert_output 'ARGS=["--name", "my run", "it'"'"'s", "$HOME", "a\"b"]'
}

@test "run: the output dir comes back to output/<job>/<stamp> with latest" {
    run --separate-stderr tccp run echo one two </dev/null
    assert_success
    [ -L output/echo/latest ]
    run cat output/echo/latest/args.json
    assert_output '["one", "two"]'
}

@test "run: two runs in a row reuse one allocation; more memory gets a new one" {
    run --separate-stderr tccp run echo </dev/null
    assert_success
    first=$(printf '%s\n' "$stderr" | grep -Eo 'allocation [0-9]+' | head -1)
    run --separate-stderr tccp run echo </dev/null
    assert_success
    [[ "$stderr" == *"reusing $first"* ]] || [[ "$stderr" == *"reusing allocation"* ]]
    [[ "$stderr" != *"submitted allocation"* ]]
    run --separate-stderr tccp run big </dev/null
    assert_success
    [[ "$stderr" == *"submitted allocation"* ]]
}

# master_requests: how many requests the tccp-connect master has served.
master_requests() { tccp-connect status --json </dev/null | jq .data.requests; }

@test "run: a warm re-run asks the cluster nothing before the start, which checks it all" {
    run --separate-stderr tccp run echo </dev/null
    assert_success
    local before after doc
    before=$(master_requests)
    doc=$(tccp-config resolve echo </dev/null | tccp-alloc ensure --optimistic |
        tccp-sync push --optimistic)
    after=$(master_requests)
    # (the second status question counts itself)
    assert_equal "$((after - before - 1))" 0
    assert_equal "$(jq -c '[.data.allocation.verified, .data.sync.deferred]' <<<"$doc")" '[false,true]'
    before=$(master_requests)
    run --separate-stderr tccp-launch start -- warm <<<"$doc"
    assert_success
    after=$(master_requests)
    assert_equal "$((after - before - 1))" 1
    run --separate-stderr tccp-logs attach <<<"$output"
    assert_success
    assert_output 'ARGS=["warm"]'
}

@test "run: an allocation taken on trust that is gone is asked for again; the run goes on" {
    run --separate-stderr tccp run echo </dev/null
    assert_success
    local id
    id=$(printf '%s\n' "$stderr" | grep -Eo 'allocation [0-9]+' | head -1 | cut -d' ' -f2)
    [ -n "$id" ]
    cluster_ssh "scancel $id"
    run --separate-stderr tccp run echo after-scancel </dev/null
    assert_success
    assert_output 'ARGS=["after-scancel"]'
    [[ "$stderr" == *"allocation $id is "*"; asking the cluster again"* ]]
    # started on another one (an idle one of the project, or a new one)
    [[ "$stderr" =~ started\ [^\ ]+\ on\ [^\ ]+\ \(allocation\ ([0-9]+), ]]
    [ "${BASH_REMATCH[1]}" != "$id" ]
}

@test "run: a tree another push changed on the cluster is pushed again before the start" {
    run --separate-stderr tccp run echo </dev/null
    assert_success
    # The same project pushed from elsewhere (another laptop, another clone).
    local other=$BATS_TEST_TMPDIR/other
    cp -R "$P" "$other"
    rm -rf "$other/output"
    printf 'print("the other clone")\n' >"$other/echo_args.py"
    (cd "$other" && tccp-config resolve echo </dev/null | tccp-sync -q push >/dev/null)
    run --separate-stderr tccp run echo mine </dev/null
    assert_success
    assert_output 'ARGS=["mine"]'
    [[ "$stderr" == *"not the one pushed from here; asking the cluster again"* ]]
}

@test "run: a bad tccp.yaml stops the pipeline with exit 3 and submits nothing" {
    mkdir -p "$BATS_TEST_TMPDIR/bad"
    printf 'script: main.py\nmemroy: 4G\n' >"$BATS_TEST_TMPDIR/bad/tccp.yaml"
    cd "$BATS_TEST_TMPDIR/bad"
    before=$(cluster_ssh squeue -h -u "$TCCP_CLUSTER_USER" -o %i | wc -l)
    run --separate-stderr tccp run main </dev/null
    assert_equal "$status" 3
    [[ "$stderr" == *"memroy"* ]]
    after=$(cluster_ssh squeue -h -u "$TCCP_CLUSTER_USER" -o %i | wc -l)
    assert_equal "$after" "$before"
}

@test "pipe: an upstream error envelope passes through a real tool unchanged" {
    run --separate-stderr sh -c 'tccp-config resolve nosuchjob | tccp-alloc ensure'
    assert_equal "$status" 2
    assert_output --partial '"type":"error"'
    assert_output --partial '"tool":"tccp-config"'
}

@test "gpus: availability by partition and per-node detail from the cluster" {
    run --separate-stderr tccp-gpus --json </dev/null
    assert_success
    assert_output --partial '"gpu_type":"a100"'
    assert_output --partial '"gpu_type":"t4"'
    run --separate-stderr tccp-gpus a100 --json </dev/null
    assert_success
    assert_output --partial '"node":"c1"'
    run --separate-stderr tccp-gpus h100 </dev/null
    assert_equal "$status" 1
    [[ "$stderr" == *"no GPU of type 'h100'"* ]]
}

@test "run: a job's declared port is forwarded to localhost while attached" {
    tccp run web </dev/null >"$BATS_TEST_TMPDIR/web.out" 2>&1 3>&- &
    pid=$!
    wait_until 90 curl -sf -m 10 -o "$BATS_TEST_TMPDIR/page" http://127.0.0.1:18766/
    run cat "$BATS_TEST_TMPDIR/page"
    assert_output 'hello through the tunnel'
    wait "$pid"
    run cat "$BATS_TEST_TMPDIR/web.out"
    assert_output --partial 'forwarding localhost:18766 -> c'
}

@test "tunnel: a job that declares no ports is refused in words" {
    run --separate-stderr tccp-tunnel echo </dev/null
    assert_equal "$status" 1
    assert_equal "$stderr" "tccp-tunnel: error: job 'echo' declares no ports
hint: add 'ports: [6006]' to it in tccp.yaml, or give -p PORT"
}
