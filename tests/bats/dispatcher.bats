#!/usr/bin/env bats
# The `tccp` dispatcher: finds and execs tccp-<tool>, passes arguments and
# exit status through, expands friendly verbs, suggests near misses.

load helpers/common

setup() {
    common_setup
    P="$BATS_TEST_TMPDIR/demo"
}

@test "dispatcher: --help lists the verbs and tools with one-line summaries" {
    run --separate-stderr tccp --help
    assert_success
    assert_line --index 0 "usage: tccp [--version] [--help] <command> [<args>]"
    assert_line --regexp '^   run +start a job and attach to it: run <job> \[args\]$'
    assert_line --regexp '^   register +create tccp.yaml and a project scaffold$'
    assert_line --regexp '^   config +resolve, validate and scaffold tccp.yaml$'
    assert_line --regexp '^   gpus +GPU availability and the GPU guide$'
    run tccp help
    assert_success
    assert_line --index 0 "usage: tccp [--version] [--help] <command> [<args>]"
}

@test "dispatcher: --version prints the same version as every tool" {
    run --separate-stderr tccp --version
    assert_success
    [[ "$output" =~ ^tccp\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
    version=${output#tccp }
    run --separate-stderr tccp-config --version
    assert_output "tccp-config $version"
}

@test "dispatcher: an unknown command exits 2 with a did-you-mean" {
    run --separate-stderr tccp confg
    [ "$status" -eq 2 ]
    assert_equal "$output" ""
    assert_equal "$stderr" "tccp: 'confg' is not a tccp command. See 'tccp --help'.

The most similar command is
	config"
}

@test "dispatcher: an unknown command with no near miss has no suggestion" {
    run --separate-stderr tccp xyzzy
    [ "$status" -eq 2 ]
    assert_equal "$stderr" "tccp: 'xyzzy' is not a tccp command. See 'tccp --help'."
}

@test "dispatcher: tccp <tool> runs tccp-<tool> with the same output" {
    make_project "$P" 'script: train.py'
    touch "$P/train.py"
    cd "$P"
    run --separate-stderr tccp config resolve
    assert_success
    direct=$(tccp-config resolve)
    assert_equal "$output" "$direct"
}

@test "dispatcher: the tool's exit status is tccp's" {
    make_project "$P" 'script: train.py'
    touch "$P/train.py"
    run --separate-stderr tccp config -C "$P" validate
    [ "$status" -eq 0 ]
    make_project "$P" 'cpus: none'
    run --separate-stderr tccp config -C "$P" validate
    [ "$status" -eq 3 ]
    assert_equal "$stderr" "tccp-config: error: tccp.yaml:1:7: cpus: 'none' is not a whole number, expected a whole number >= 1"
    run --separate-stderr tccp config --no-such-flag
    [ "$status" -eq 2 ]
}

@test "dispatcher: arguments with spaces and quotes pass unchanged" {
    dir="$BATS_TEST_TMPDIR/it's a \"dir\" \$HOME"
    make_project "$dir" $'jobs:\n  "train": t.py'
    run --separate-stderr tccp config -C "$dir" resolve train
    assert_success
    [ "$(jq -r '.data.project_dir' <<<"$output")" = "$dir" ]
    [ "$(jq -r '.data.project' <<<"$output")" = "it's a \"dir\" \$HOME" ]
}

@test "dispatcher: friendly verbs run their tool: register scaffolds, refresh validates" {
    mkdir -p "$P"
    cd "$P"
    run --separate-stderr tccp register
    assert_success
    [ -f tccp.yaml ] && [ -f main.py ] && [ -f requirements.txt ] && [ -f .gitignore ]
    run --separate-stderr tccp refresh
    assert_success
    [ "$(jq -r '.type' <<<"$output")" = "validation" ]
    printf 'memroy: 4G\n' >tccp.yaml
    run --separate-stderr tccp refresh
    [ "$status" -eq 3 ]
}

@test "dispatcher: help <command> shows the tool's own help" {
    run --separate-stderr tccp help config
    assert_success
    assert_line --index 0 "Resolve, validate and scaffold tccp.yaml"
    run --separate-stderr tccp help register
    assert_success
    assert_line --partial "Usage: tccp-config init"
}

@test "dispatcher: a tool next to tccp wins over one on PATH" {
    mkdir -p "$BATS_TEST_TMPDIR/own" "$BATS_TEST_TMPDIR/path"
    cp "$TCCP_BIN_DIR/tccp" "$BATS_TEST_TMPDIR/own/tccp"
    printf '#!/bin/sh\necho "own $*"\n' >"$BATS_TEST_TMPDIR/own/tccp-config"
    printf '#!/bin/sh\necho "path $*"\n' >"$BATS_TEST_TMPDIR/path/tccp-config"
    chmod +x "$BATS_TEST_TMPDIR/own/tccp-config" "$BATS_TEST_TMPDIR/path/tccp-config"
    PATH="$BATS_TEST_TMPDIR/path:$PATH" run "$BATS_TEST_TMPDIR/own/tccp" config a "b c"
    assert_success
    assert_output "own a b c"
    rm "$BATS_TEST_TMPDIR/own/tccp-config"
    PATH="$BATS_TEST_TMPDIR/path:$PATH" run "$BATS_TEST_TMPDIR/own/tccp" config a "b c"
    assert_output "path a b c"
}

@test "dispatcher: a tool that is not installed is reported" {
    mkdir -p "$BATS_TEST_TMPDIR/alone"
    cp "$TCCP_BIN_DIR/tccp" "$BATS_TEST_TMPDIR/alone/tccp"
    PATH=/usr/bin:/bin run --separate-stderr "$BATS_TEST_TMPDIR/alone/tccp" config validate
    [ "$status" -eq 70 ]
    assert_equal "$stderr" "tccp: error: 'tccp-config' is not installed next to tccp or on PATH"
}

@test "dispatcher: with no arguments off a terminal it prints help and exits 2" {
    run --separate-stderr tccp </dev/null
    [ "$status" -eq 2 ]
    assert_line --index 0 "usage: tccp [--version] [--help] <command> [<args>]"
}
