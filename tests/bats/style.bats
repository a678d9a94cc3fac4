#!/usr/bin/env bats
# The cheap half of `make lint` holds on every test run: the C++ sources are
# as clang-format leaves them and every shell script passes shellcheck
# (clang-tidy needs a full analysis and stays in `make lint`).

load helpers/common

setup() {
    cd "$TCCP_SOURCE_DIR"
}

@test "style: C++ sources are formatted (make format)" {
    command -v clang-format >/dev/null || skip "clang-format is not installed"
    run -0 sh -c "find lib cmd tests/unit -name '*.cpp' -o -name '*.hpp' | xargs clang-format --dry-run -Werror 2>&1 | grep -m 20 'clang-format-violations'; exit 0"
    assert_output ""
}

@test "style: the remote helper, the scripts and the Bats helpers pass shellcheck" {
    command -v shellcheck >/dev/null || skip "shellcheck is not installed"
    run shellcheck -s sh "${TCCP_BUILD_DIR:-build}/generated/tccp-remote"
    assert_success
    run shellcheck scripts/*.sh tests/cluster/*.sh bench/*.sh examples/*.sh
    assert_success
    run shellcheck -s bash tests/bats/helpers/*.bash
    assert_success
}
