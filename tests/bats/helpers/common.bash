# Shared setup of tccp's Bats suites: `load helpers/common` then call
# common_setup from setup().
#
# - the built tools first on PATH (TCCP_BIN_DIR, set by ctest; by default
#   build/bin of this checkout, so `bats tests/bats/x.bats` works by hand);
# - a fresh HOME and TCCP_HOME per test, so no test sees the user's config;
# - bats-support and bats-assert loaded.

bats_require_minimum_version 1.5.0

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TCCP_SOURCE_DIR=${TCCP_SOURCE_DIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
TCCP_BIN_DIR=${TCCP_BIN_DIR:-$TCCP_SOURCE_DIR/build/bin}
export TCCP_SOURCE_DIR TCCP_BIN_DIR

common_setup() {
    if [ ! -x "$TCCP_BIN_DIR/tccp" ]; then
        echo "no tccp in '$TCCP_BIN_DIR': run 'make build' first" >&2
        return 1
    fi
    PATH="$TCCP_BIN_DIR:$PATH"
    export HOME="$BATS_TEST_TMPDIR/home"
    export TCCP_HOME="$HOME/.tccp"
    mkdir -p "$HOME"
    export NO_COLOR=1
    unset TCCP_DEBUG
}

# make_project DIR [YAML]: a project directory holding tccp.yaml with YAML
# (read from stdin when YAML is "-").
make_project() {
    mkdir -p "$1"
    if [ "${2:-}" = "-" ]; then
        cat >"$1/tccp.yaml"
    else
        printf '%s\n' "${2:-script: main.py}" >"$1/tccp.yaml"
    fi
}

# global_config [YAML]: $TCCP_HOME/config.yaml (from stdin when YAML is "-"
# or absent).
global_config() {
    mkdir -p "$TCCP_HOME"
    if [ $# -gt 0 ] && [ "$1" != "-" ]; then
        printf '%s\n' "$1" >"$TCCP_HOME/config.yaml"
    else
        cat >"$TCCP_HOME/config.yaml"
    fi
}

# on_tty CMD...: runs CMD with stdout on a pseudo-terminal (script(1)), so
# tools print for people. Output is in $output as usual under `run`.
on_tty() {
    local cmd
    cmd=$(printf '%q ' "$@")
    local rc=0
    script -qec "$cmd" /dev/null </dev/null >"$BATS_TEST_TMPDIR/tty.out" || rc=$?
    tr -d '\r' <"$BATS_TEST_TMPDIR/tty.out"
    return "$rc"
}
