
# --- main -------------------------------------------------------------------

# The version is in the installed file's name (ROOT/bin/tccp-remote-<hash>).
case $0 in
    */tccp-remote-*) TCCP_HELPER_VERSION=${0##*/tccp-remote-} ;;
    *) TCCP_HELPER_VERSION=dev ;;
esac
[ $# -ge 2 ] || usage_die "usage: tccp-remote ROOT COMMAND [ARG...]"
TCCP_ROOT=$1
shift
command=$1
shift
case $command in
    *[!a-z0-9_]*) usage_die "unknown command '$command'" ;;
esac
if command -v "cmd_$command" >/dev/null 2>&1; then
    "cmd_$command" "$@"
else
    usage_die "unknown command '$command'"
fi
