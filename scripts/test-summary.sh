#!/bin/sh
# test-summary.sh BUILD_DIR: after `make test`, says how many Bats tests were
# skipped and why (ctest counts a suite whose tests all skipped as passed).
# Reads the output ctest keeps of every test it ran.
set -eu

log=${1:-build}/Testing/Temporary/LastTest.log
[ -r "$log" ] || exit 0

# Bats (TAP): "ok 12 a test's name # skip the reason"
skips=$(grep -E '^ok [0-9]+ .* # skip' "$log" || true)
if [ -z "$skips" ]; then
    echo "make test: no test skipped"
    exit 0
fi
count=$(printf '%s\n' "$skips" | wc -l | tr -d ' ')
echo "make test: $count Bats tests skipped:"
printf '%s\n' "$skips" | sed -E 's/^.* # skip ?//; s/^$/(no reason given)/' | sort | uniq -c |
    sed -E 's/^ *([0-9]+) /  \1 × /'
