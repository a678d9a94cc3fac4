#!/bin/sh
# SSH_ASKPASS program for the tccp test cluster (password + TOTP login).
#
# ssh runs it with the prompt text as $1, e.g.
#   "(tccpuser@10.77.1.2) Password: "            -> prints the password
#   "(tccpuser@10.77.1.2) Verification code: "   -> prints the current TOTP code
# Any other prompt (host key questions, key passphrases, ...) is refused (rc 1).
#
# Secrets are read from files, never from argv or the environment:
#   TCCP_CLUSTER_PASSWORD_FILE, TCCP_CLUSTER_TOTP_SECRET_FILE when set (paths only),
#   otherwise the paths recorded in $TCCP_CLUSTER_RUN/cluster.env
#   (TCCP_CLUSTER_RUN defaults to /var/lib/tccp-cluster).
#
# Use with OpenSSH:
#   SSH_ASKPASS=/path/to/askpass.sh SSH_ASKPASS_REQUIRE=force ssh -o BatchMode=no ...
set -u

prompt=${1:-}
env_file=${TCCP_CLUSTER_RUN:-/var/lib/tccp-cluster}/cluster.env

env_value() {  # env_value KEY: value of KEY=... in cluster.env (not sourced)
    [ -r "$env_file" ] || return 0
    sed -n "s/^$1=//p" "$env_file" | tail -n 1
}

password_file=${TCCP_CLUSTER_PASSWORD_FILE:-$(env_value TCCP_CLUSTER_PASSWORD_FILE)}
totp_file=${TCCP_CLUSTER_TOTP_SECRET_FILE:-$(env_value TCCP_CLUSTER_TOTP_SECRET_FILE)}

if printf '%s' "$prompt" | grep -qiE 'code|otp|verification|token'; then
    if [ -z "$totp_file" ] || [ ! -r "$totp_file" ]; then
        echo "askpass: TOTP secret file not readable: ${totp_file:-unset}" >&2
        exit 1
    fi
    # the secret goes to oathtool on stdin ("-"), so it never shows in argv
    oathtool --totp -b - <"$totp_file" || exit 1
elif printf '%s' "$prompt" | grep -qi 'password'; then
    if [ -z "$password_file" ] || [ ! -r "$password_file" ]; then
        echo "askpass: password file not readable: ${password_file:-unset}" >&2
        exit 1
    fi
    head -n 1 "$password_file"
else
    echo "askpass: refusing unexpected prompt: $prompt" >&2
    exit 1
fi
