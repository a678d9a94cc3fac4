#!/bin/sh
# Writes man/man1/*.1 and completions/ under DIR (default: the source tree)
# from the flag tables of the tools built in BIN_DIR (default build/bin):
# `tccp --gen-docs` asks each tccp-<tool> there for `--describe`.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root}
bin=${BIN_DIR:-$root/build/bin}
if [ ! -x "$bin/tccp" ]; then
    echo "gen-docs: no '$bin/tccp': run 'make build' first" >&2
    exit 1
fi
# Pages of tools that are no longer built must not linger.
rm -f "$out"/man/man1/tccp*.1
"$bin/tccp" --gen-docs "$out"
