
# --- core -------------------------------------------------------------------

# cmd_ping: proves the helper runs and names its version.
cmd_ping() {
    printf 'pong %s\n' "$TCCP_HELPER_VERSION"
}
