#!/bin/sh
# Installs the Debian packages tccp needs to build and test, when missing.
# Idempotent and quiet when everything is there.
set -eu

packages="build-essential cmake pkg-config ninja-build
libssh2-1-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libssl-dev
libarchive-dev libedit-dev libgtest-dev googletest
bats bats-assert bats-support shellcheck dash clang-format clang-tidy
git rsync expect dtach tmux openssh-client python3 curl zsh"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "hint: run 'sudo make deps' or install them with apt-get" >&2
    exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
