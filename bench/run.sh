#!/bin/sh
# make bench: measures tccp against OpenSSH baselines on the local cluster at
# simulated round-trip times of 0, 20 and 50 ms and writes bench/REPORT.md.
# Expects `make build` and `make cluster-up` to have run. See bench/README.md.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)

missing=""
command -v hyperfine >/dev/null 2>&1 || missing="$missing hyperfine"
[ -x /usr/bin/time ] || missing="$missing time"
command -v rsync >/dev/null 2>&1 || missing="$missing rsync"
if [ -n "$missing" ]; then
    echo "bench: installing$missing" >&2
    # shellcheck disable=SC2086
    apt-get install -y $missing >/dev/null
fi

export BENCH_SRC="$src"
exec python3 "$here/bench.py" "$@"
