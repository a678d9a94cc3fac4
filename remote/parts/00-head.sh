#!/bin/sh
# tccp-remote: the helper tccp installs on the cluster under the user's tccp
# root (bin/tccp-remote-<hash>). Every remote operation is one call of this
# script on one exec channel. POSIX sh only: it runs under dash.
#
# Usage: tccp-remote ROOT COMMAND [ARG...]
# Output is line-oriented; failures print "tccp-remote: error: ..." on stderr
# and exit non-zero (2 usage, 1 failed, 7 refused by the cluster).
set -u
umask 077

die() {
    printf 'tccp-remote: error: %s\n' "$*" >&2
    exit 1
}

usage_die() {
    printf 'tccp-remote: error: %s\n' "$*" >&2
    exit 2
}
