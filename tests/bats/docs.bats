#!/usr/bin/env bats
# man/ and completions/ are generated from the tools' flag tables
# (`make docs`); the committed files must match what the built tools say.

load helpers/common

setup() {
    common_setup
}

@test "docs: committed man pages and completions match the built tools" {
    out="$BATS_TEST_TMPDIR/gen"
    BIN_DIR="$TCCP_BIN_DIR" run "$TCCP_SOURCE_DIR/scripts/gen-docs.sh" "$out"
    assert_success
    run diff -ru "$TCCP_SOURCE_DIR/man" "$out/man"
    if [ "$status" -ne 0 ]; then
        echo "$output"
        echo "man/ is out of date with the tools: run 'make docs' and commit the result"
        return 1
    fi
    run diff -ru "$TCCP_SOURCE_DIR/completions" "$out/completions"
    if [ "$status" -ne 0 ]; then
        echo "$output"
        echo "completions/ is out of date with the tools: run 'make docs' and commit the result"
        return 1
    fi
}

@test "docs: every built tool has a man page and tccp(1) lists every verb" {
    for tool in "$TCCP_BIN_DIR"/tccp-*; do
        [ -f "$TCCP_SOURCE_DIR/man/man1/$(basename "$tool").1" ]
    done
    run grep -c '^\.TP' "$TCCP_SOURCE_DIR/man/man1/tccp.1"
    [ "$output" -gt 30 ]
    grep -q '^\\fBregister\\fR$' "$TCCP_SOURCE_DIR/man/man1/tccp.1"
}

@test "docs: man pages format without groff warnings" {
    for page in "$TCCP_SOURCE_DIR"/man/man1/*.1; do
        run groff -man -ww -z "$page"
        assert_success
        assert_output ""
    done
}

@test "docs: the bash completion completes commands, subcommands, options and dirs" {
    bash -n "$TCCP_SOURCE_DIR/completions/tccp.bash"
    # shellcheck disable=SC1091
    source "$TCCP_SOURCE_DIR/completions/tccp.bash"

    COMP_WORDS=(tccp reg)
    COMP_CWORD=1
    _tccp
    assert_equal "${COMPREPLY[*]}" "register"

    COMP_WORDS=(tccp-config res)
    COMP_CWORD=1
    _tccp_config
    assert_equal "${COMPREPLY[*]}" "resolve"

    COMP_WORDS=(tccp config resolve --sh)
    COMP_CWORD=3
    _tccp
    assert_equal "${COMPREPLY[*]}" "--show-origin"

    mkdir -p "$BATS_TEST_TMPDIR/projdir"
    touch "$BATS_TEST_TMPDIR/projfile"
    COMP_WORDS=(tccp-config -C "$BATS_TEST_TMPDIR/proj")
    COMP_CWORD=2
    _tccp_config
    assert_equal "${COMPREPLY[*]}" "$BATS_TEST_TMPDIR/projdir"
}

@test "docs: the zsh completion completes commands, subcommands, options and dirs" {
    command -v zsh >/dev/null || skip "zsh is not installed (make deps installs it)"
    zsh -n "$TCCP_SOURCE_DIR/completions/_tccp"
    # zsh's own _describe and _files are stood in for by ones that print
    # what they were given to offer; the words are completed as zsh would.
    cat >"$BATS_TEST_TMPDIR/complete.zsh" <<'ZSH'
_describe() { local n=${@[-1]}; print -r -- "offer ${(j: :)${(@)${(P)n}%%:*}}" }
_files() { print -r -- "files $*" }
complete_words() { service=$1; words=("$@"); CURRENT=$#; source "$TCCP_SOURCE_DIR/completions/_tccp" }
complete_words tccp reg
complete_words tccp config resolve --sh
complete_words tccp-config -C ''
complete_words tccp-launch ''
complete_words tccp view ''
ZSH
    run -0 zsh -f "$BATS_TEST_TMPDIR/complete.zsh"
    [[ "${lines[0]}" == "offer "*" register "* ]]
    [[ "${lines[1]}" == "offer "*" --show-origin"* ]]
    assert_equal "${lines[2]}" "files -/"
    [[ "${lines[3]}" == "offer start cancel restart "* ]]
    assert_equal "${lines[4]}" "files "
}
