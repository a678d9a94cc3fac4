#!/usr/bin/env bats
# tccp-connect on the local cluster (tests/cluster/cluster.sh): direct
# connections, host keys, every authentication method, ProxyJump, and the
# control master (one MFA for many clients, the session cap, 200 MB streams,
# link loss and reconnect, no secret in argv or logs).
# Needs root (the cluster); every test is skipped otherwise.

load helpers/common
load helpers/cluster

setup_file() {
  cluster_setup_file
}

setup() {
  common_setup
  cluster_require
  T=$BATS_TEST_TMPDIR
  export TCCP_SSH_CONFIG=$TCCP_CLUSTER_SSH_CONFIG
  unset SSH_ASKPASS TCCP_ASKPASS SSH_AUTH_SOCK DISPLAY SSH_ASKPASS_REQUIRE TCCP_ASKPASS_REQUIRE
  # An askpass that records each prompt it answers, then asks the cluster's.
  cat >"$T/askpass" <<EOF
#!/bin/sh
printf '%s\n' "\$1" >>"$T/askpass.calls"
exec "$TCCP_CLUSTER_ASKPASS" "\$1"
EOF
  chmod +x "$T/askpass"
}

teardown() {
  local h p
  for h in $(cat "$T/masters" 2>/dev/null); do
    TCCP_SSH_CONFIG=$(cat "$T/config.$h" 2>/dev/null || echo "$TCCP_CLUSTER_SSH_CONFIG") \
      tccp-connect --host "$h" stop >/dev/null 2>&1 || true
  done
  for p in $(cat "$T/pids" 2>/dev/null); do
    kill -CONT "$p" 2>/dev/null || true
    kill "$p" 2>/dev/null || true
  done
  cluster_teardown
}

# start_master HOST [ARGS...]: starts (and remembers to stop) a master.
start_master() {
  echo "$1" >>"$T/masters"
  echo "$TCCP_SSH_CONFIG" >"$T/config.$1"
  tccp-connect --host "$1" start "${@:2}"
}

askpass_calls() {
  if [ -f "$T/askpass.calls" ]; then wc -l <"$T/askpass.calls"; else echo 0; fi
}

master_state() {
  tccp-connect --host "$1" status --json | jq -r .data.state
}

# accepted_logins: how many logins login's sshd accepted so far.
accepted_logins() {
  grep -c 'Accepted keyboard-interactive/pam for tccpuser' "$TCCP_CLUSTER_LOGS/sshd-login.log" || true
}

# no_tty CMD...: runs CMD without a controlling terminal (as a daemon or a
# CI job would), so /dev/tty cannot be opened.
no_tty() { setsid -w "$@"; }

port_open() { (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_proxy DOOR_PORT [DELAY_MS]: a delay proxy of our own, 127.0.0.1:PORT
# -> login:DOOR_PORT, so killing or stopping it cuts only this test's
# link. Prints the port; the pid goes to $T/proxy.pid.
start_proxy() {
  local port
  port=${PROXY_PORT:-$((21000 + RANDOM % 20000))}
  python3 "$TCCP_SOURCE_DIR/tests/cluster/delay-proxy.py" --delay-ms "${2:-0}" \
    --map "127.0.0.1:$port=$TCCP_CLUSTER_HOST:$1" >"$T/proxy.log" 2>&1 3>&- &
  echo $! >"$T/proxy.pid"
  echo $! >>"$T/pids"
  wait_until 10 port_open "$port" >&2
  echo "$port"
}

# proxy_config PORT DOOR_PORT: an ssh_config naming the proxy "viaproxy"
# (login's host keys under the proxy's name; keepalive every second).
proxy_config() {
  local port=$1 door=$2
  awk -v name="[127.0.0.1]:$port" -v want="[$TCCP_CLUSTER_HOST]:$door" \
    '$1 == want { $1 = name; print }' "$TCCP_CLUSTER_KNOWN_HOSTS" >"$T/proxy_known_hosts"
  if [ "$door" = 22 ]; then
    awk -v name="[127.0.0.1]:$port" -v want="$TCCP_CLUSTER_HOST" \
      '$1 == want { $1 = name; print }' "$TCCP_CLUSTER_KNOWN_HOSTS" >"$T/proxy_known_hosts"
  fi
  cat >"$T/proxy_ssh_config" <<EOF
Host viaproxy
  HostName 127.0.0.1
  Port $port
  User $TCCP_CLUSTER_USER
  IdentityFile $TCCP_CLUSTER_KEY
  IdentitiesOnly yes
  UserKnownHostsFile $T/proxy_known_hosts
  GlobalKnownHostsFile /dev/null
  ServerAliveInterval 1
  ServerAliveCountMax 3
EOF
}

# own_config FILE: an ssh_config for login's key door with no key of its own
# (each test brings the key, agent or known_hosts it is about).
own_config() {
  cat >"$1" <<EOF
Host login
  HostName $TCCP_CLUSTER_HOST
  Port $TCCP_CLUSTER_KEY_PORT
  User $TCCP_CLUSTER_USER
  UserKnownHostsFile ${2:-$TCCP_CLUSTER_KNOWN_HOSTS}
  GlobalKnownHostsFile /dev/null
EOF
}

# private_sshd NAME SSHD_LINES [CLIENT_LINES]: an sshd of our own on
# 127.0.0.1 (a random port) for the cluster's user, with the given settings;
# TCCP_SSH_CONFIG then names it NAME (its host key trusted).
private_sshd() {
  local name=$1 server=$2 client=${3:-}
  local port=$((21000 + RANDOM % 20000))
  ssh-keygen -q -t ed25519 -N '' -f "$T/$name.hostkey"
  printf 'ListenAddress 127.0.0.1:%s\nHostKey %s\nPidFile %s\nUsePAM yes\nPermitRootLogin no\n%s\n' \
    "$port" "$T/$name.hostkey" "$T/$name.pid" "$server" >"$T/$name.sshd_config"
  mkdir -p /run/sshd
  /usr/sbin/sshd -f "$T/$name.sshd_config" -E "$T/$name.sshd.log"
  wait_until 10 test -s "$T/$name.pid"
  cat "$T/$name.pid" >>"$T/pids"
  echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$T/$name.hostkey.pub")" >"$T/$name.known"
  printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n  User %s\n  UserKnownHostsFile %s\n%s\n' \
    "$name" "$port" "$TCCP_CLUSTER_USER" "$T/$name.known" "$client" >"$T/$name.ssh_config"
  export TCCP_SSH_CONFIG=$T/$name.ssh_config
}

# ---- direct connections ------------------------------------------------------

@test "connect: exec passes stdout, stderr and the exit status through" {
  run --separate-stderr tccp-connect --host login exec 'echo out; echo err >&2; exit 7'
  assert_equal "$status" 7
  assert_equal "$output" "out"
  assert_equal "$stderr" "err"
}

@test "connect: a command killed by a signal exits 128 + its number" {
  run tccp-connect --host login exec 'kill -TERM $$'
  assert_equal "$status" 143
  run tccp-connect --host login exec 'exec sh -c "kill -KILL \$\$"'
  assert_equal "$status" 137
}

@test "connect: exec feeds stdin, and words are joined like ssh does" {
  run bash -c 'printf "a\nb\n" | tccp-connect --host login exec wc -l'
  assert_success
  assert_equal "$(echo "$output" | tr -d ' ')" 2
  run tccp-connect --host login exec -- printf '%s.' -n -- x
  assert_output "-n.--.x."
}

@test "connect: a large stderr does not stall stdout" {
  run --separate-stderr tccp-connect --host login exec 'head -c 8000000 /dev/zero >&2; echo done'
  assert_success
  assert_equal "$output" "done"
  assert_equal "${#stderr}" 0 # NUL bytes: bash drops them; the point is that it finished
}

@test "connect: password and TOTP through keyboard-interactive, answered by askpass" {
  run --separate-stderr tccp-connect --host login-mfa --askpass "$T/askpass" exec 'echo in'
  assert_success
  assert_equal "$output" "in"
  # The prompts exactly as the server words them.
  assert_equal "$(cat "$T/askpass.calls")" "$(printf 'Password: \nVerification code: ')"
}

@test "connect: key then TOTP (partial success) authenticates" {
  run tccp-connect --host login-keytotp --askpass "$T/askpass" exec 'echo two-step'
  assert_success
  assert_output "two-step"
  assert_equal "$(cat "$T/askpass.calls")" "Verification code: "
}

@test "connect: without a terminal or askpass the MFA prompt is explained, not a bare failure" {
  run --separate-stderr no_tty tccp-connect --host login-mfa exec true
  assert_equal "$status" 5
  [[ "$stderr" == *"permission denied for tccpuser@login-mfa (tried keyboard-interactive)"* ]]
  [[ "$stderr" == *"the server asked 'Password:'"* ]]
  [[ "$stderr" == *"hint: run this on a terminal, or name an askpass program"* ]]
}

@test "connect: the password method, answered by askpass and then by a stored password" {
  # The cluster's doors use keyboard-interactive; this sshd offers only "password".
  private_sshd pw "$(printf 'AuthenticationMethods password\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nPubkeyAuthentication no')"
  run tccp-connect --host pw --askpass "$T/askpass" exec 'echo by-password'
  assert_success
  assert_output "by-password"
  assert_equal "$(cat "$T/askpass.calls")" "$TCCP_CLUSTER_USER@127.0.0.1's password: "
  run tccp-connect setup --host pw --no-check --store-password-from-stdin <"$TCCP_CLUSTER_PASSWORD_FILE"
  assert_success
  run no_tty tccp-connect exec 'echo stored'
  assert_success
  assert_output "stored"
  assert_equal "$(grep -c . "$T/askpass.calls")" 1
}

@test "connect: an encrypted key asks for its passphrase" {
  cp "$TCCP_CLUSTER_KEY" "$T/enc_key"
  chmod 600 "$T/enc_key"
  ssh-keygen -q -p -f "$T/enc_key" -N 'pass phrase 42' -P '' >/dev/null
  cat >"$T/pass_askpass" <<EOF
#!/bin/sh
printf '%s\n' "\$1" >>"$T/askpass.calls"
case "\$1" in *passphrase*) echo 'pass phrase 42' ;; *) exit 1 ;; esac
EOF
  chmod +x "$T/pass_askpass"
  own_config "$T/cfg"
  TCCP_SSH_CONFIG=$T/cfg run tccp-connect --host login --identity "$T/enc_key" \
    --askpass "$T/pass_askpass" exec 'echo unlocked'
  assert_success
  assert_output "unlocked"
  assert_equal "$(cat "$T/askpass.calls")" "Enter passphrase for key '$T/enc_key': "
}

@test "connect: the ssh-agent authenticates" {
  eval "$(ssh-agent -s)" >/dev/null
  echo "$SSH_AGENT_PID" >>"$T/pids"
  ssh-add -q "$TCCP_CLUSTER_KEY"
  own_config "$T/cfg"
  TCCP_SSH_CONFIG=$T/cfg run tccp-connect --host login exec 'echo by-agent'
  assert_success
  assert_output "by-agent"
  run ssh-add -D
}

@test "connect: an RSA-only user is told why and how to fix it" {
  ssh-keygen -q -t rsa -b 2048 -N '' -f "$T/id_rsa"
  own_config "$T/cfg"
  TCCP_SSH_CONFIG=$T/cfg run --separate-stderr tccp-connect --host login --identity "$T/id_rsa" exec true
  assert_equal "$status" 5
  [[ "$stderr" == *"$T/id_rsa skipped: RSA keys cannot be used"* ]]
  [[ "$stderr" == *"hint: create an ed25519 key (ssh-keygen -t ed25519)"*"or log in with password + MFA"* ]]
}

@test "connect: ProxyJump through login reaches a compute node" {
  run tccp-connect --host c1 exec 'hostname; echo "$SSH_CONNECTION" | cut -d" " -f1'
  assert_success
  assert_line --index 0 "c1"
  assert_line --index 1 "$TCCP_CLUSTER_LOGIN_LAN_IP"
}

@test "connect: ProxyJump verifies the host key of every hop" {
  # The jump host's key is known, the node's is not: refused at the node.
  grep -v '^c1 ' "$TCCP_CLUSTER_KNOWN_HOSTS" >"$T/known"
  sed "s#UserKnownHostsFile .*#UserKnownHostsFile $T/known#" "$TCCP_CLUSTER_SSH_CONFIG" >"$T/cfg"
  TCCP_SSH_CONFIG=$T/cfg run --separate-stderr no_tty tccp-connect --host c1 exec hostname
  assert_equal "$status" 5
  [[ "$stderr" == *"the host key of 'c1' is not known"* ]]
}

@test "connect: ssh NODE runs on the compute node through the login connection" {
  run tccp-connect --host login ssh c2 'hostname; exit 3'
  assert_equal "$status" 3
  assert_output "c2"
}

@test "connect: forward reaches a port as seen from the cluster" {
  run bash -c "printf 'GET /simple/ HTTP/1.0\r\n\r\n' | tccp-connect --host login forward login 8080"
  assert_success
  assert_line --index 0 --partial "HTTP/1.0 200"
  run --separate-stderr tccp-connect --host login forward 127.0.0.1 1 </dev/null
  assert_equal "$status" 6
  [[ "$stderr" == *"cannot connect to 127.0.0.1:1 from tccpuser@login"* ]]
}

# ---- host keys -----------------------------------------------------------------------

@test "connect: a changed host key is refused with exit 5 and both fingerprints" {
  ssh-keygen -q -t ed25519 -N '' -f "$T/impostor"
  echo "[$TCCP_CLUSTER_HOST]:$TCCP_CLUSTER_KEY_PORT $(cut -d' ' -f1-2 "$T/impostor.pub")" >"$T/bad_known"
  own_config "$T/cfg" "$T/bad_known"
  echo "  IdentityFile $TCCP_CLUSTER_KEY" >>"$T/cfg"
  TCCP_SSH_CONFIG=$T/cfg run --separate-stderr tccp-connect --host login exec true
  assert_equal "$status" 5
  local recorded served
  recorded=$(ssh-keygen -lf "$T/impostor.pub" | cut -d' ' -f2)
  served=$(ssh-keyscan -t ed25519 -p "$TCCP_CLUSTER_KEY_PORT" "$TCCP_CLUSTER_HOST" 2>/dev/null | ssh-keygen -lf - | cut -d' ' -f2)
  [[ "$stderr" == *"has CHANGED: $T/bad_known:1 records $recorded, the server sent $served (ED25519)"* ]]
  [[ "$stderr" == *"hint: someone may be intercepting the connection"* ]]
}

@test "connect: an unknown host key is refused without a terminal, with the fingerprint and a hint" {
  own_config "$T/cfg" /dev/null
  echo "  IdentityFile $TCCP_CLUSTER_KEY" >>"$T/cfg"
  TCCP_SSH_CONFIG=$T/cfg run --separate-stderr no_tty tccp-connect --host login exec true
  assert_equal "$status" 5
  [[ "$stderr" == *"the host key of '[$TCCP_CLUSTER_HOST]:$TCCP_CLUSTER_KEY_PORT' is not known: ED25519 key fingerprint SHA256:"* ]]
  [[ "$stderr" == *"'tccp setup'"*"'tccp-connect start --accept-new'"* ]]
  [ ! -e "$TCCP_HOME/known_hosts" ]
}

@test "connect: an unknown host key is accepted by typing yes on the terminal, then remembered" {
  own_config "$T/cfg" /dev/null
  echo "  IdentityFile $TCCP_CLUSTER_KEY" >>"$T/cfg"
  cat >"$T/yes.exp" <<'EOF'
set timeout 20
spawn tccp-connect --host login exec {echo trusted}
expect_after timeout { puts "\ntimed out"; exit 99 }
expect "ED25519 key fingerprint is SHA256:"
expect -ex "Are you sure you want to continue connecting (yes/no)? "
send "yes\r"
expect "trusted"
expect eof
catch wait r
exit [lindex $r 3]
EOF
  TCCP_SSH_CONFIG=$T/cfg run timeout 90 expect "$T/yes.exp"
  assert_success
  grep -q "^\[$TCCP_CLUSTER_HOST\]:$TCCP_CLUSTER_KEY_PORT ssh-ed25519 " "$TCCP_HOME/known_hosts"
  TCCP_SSH_CONFIG=$T/cfg run tccp-connect --host login exec 'echo again' </dev/null
  assert_success
  assert_output "again"
}

@test "connect: --accept-new records an unknown key but still refuses a changed one" {
  own_config "$T/cfg" /dev/null
  echo "  IdentityFile $TCCP_CLUSTER_KEY" >>"$T/cfg"
  TCCP_SSH_CONFIG=$T/cfg run --separate-stderr tccp-connect --host login --accept-new exec 'echo ok'
  assert_success
  [[ "$stderr" == *"Permanently added '[$TCCP_CLUSTER_HOST]:$TCCP_CLUSTER_KEY_PORT' (ED25519 SHA256:"* ]]
  [ "$(stat -c %a "$TCCP_HOME/known_hosts")" = 600 ]
  ssh-keygen -q -t ed25519 -N '' -f "$T/impostor"
  echo "[$TCCP_CLUSTER_HOST]:$TCCP_CLUSTER_KEY_PORT $(cut -d' ' -f1-2 "$T/impostor.pub")" >"$TCCP_HOME/known_hosts"
  TCCP_SSH_CONFIG=$T/cfg run tccp-connect --host login --accept-new exec true
  assert_equal "$status" 5
}

# ---- terminal prompts ------------------------------------------------------------------

@test "connect: keyboard-interactive on a terminal shows the prompts and does not echo answers" {
  cat >"$T/mfa.exp" <<'EOF'
set timeout 30
set f [open $env(TCCP_CLUSTER_PASSWORD_FILE)]; gets $f pw; close $f
spawn tccp-connect --host login-mfa exec {echo logged-in}
expect_after timeout { puts "\ntimed out"; exit 99 }
expect "Password: "
send -- "wrong-password\r"
expect "Permission denied, please try again."
expect "Password: "
send -- "$pw\r"
expect "Verification code: "
set code [exec oathtool --totp -b - < $env(TCCP_CLUSTER_TOTP_SECRET_FILE)]
send -- "$code\r"
expect "logged-in"
expect eof
catch wait r
exit [lindex $r 3]
EOF
  run timeout 90 expect "$T/mfa.exp"
  assert_success
  assert_output --partial "logged-in"
  refute_output --partial "wrong-password"
  run grep -cF -f "$TCCP_CLUSTER_PASSWORD_FILE" <<<"$output"
  assert_output "0"
}

@test "connect: the shell has a pty that follows window size and passes Ctrl+C" {
  cat >"$T/pty.exp" <<'EOF'
set timeout 20
spawn tccp-connect --host login shell
expect_after timeout { puts "\ntimed out"; exit 99 }
send "PS1=READY'> '\r"
expect "READY> "
stty rows 33 columns 101 < $spawn_out(slave,name)
send "stty size\r"
expect "33 101"
send "sleep 100; echo not-\$((6*7))\r"
expect "sleep 100"
sleep 1
send "\003"
expect "READY> "
send "exit 4\r"
expect eof
catch wait r
exit [lindex $r 3]
EOF
  run timeout 90 expect "$T/pty.exp"
  assert_equal "$status" 4
  refute_output --partial "not-42"
}

# ---- the master ------------------------------------------------------------------------

@test "connect: start returns after authenticating, status tells the connection, stop ends it" {
  run start_master login-mfa --askpass "$T/askpass"
  assert_success
  run tccp-connect --host login-mfa status --json
  assert_success
  assert_equal "$(jq -r .type <<<"$output")" connection
  assert_equal "$(jq -r .data.state <<<"$output")" connected
  assert_equal "$(jq -r .data.user <<<"$output")" "$TCCP_CLUSTER_USER"
  assert_equal "$(jq -r .data.host <<<"$output")" login-mfa
  assert_equal "$(jq -r .data.hostname <<<"$output")" "$TCCP_CLUSTER_HOST"
  [[ "$(jq -r .data.since <<<"$output")" =~ ^20[0-9-]+T[0-9:]+Z$ ]]
  tccp-connect --host login-mfa exec true
  run tccp-connect --host login-mfa status --json
  [[ "$(jq -r .data.rtt_ms <<<"$output")" =~ ^[0-9.]+$ ]]
  assert_equal "$(jq -r .data.open_channels <<<"$output")" 0
  run tccp-connect --host login-mfa stop
  assert_success
  assert_equal "$(master_state login-mfa)" stopped
  [ ! -S "$(jq -r .data.socket <<<"$output")" ]
}

@test "connect: start asks on the caller's terminal, returns once logged in, then never asks again" {
  echo login-mfa >>"$T/masters"
  echo "$TCCP_SSH_CONFIG" >"$T/config.login-mfa"
  cat >"$T/start.exp" <<'EOF'
set timeout 30
set f [open $env(TCCP_CLUSTER_PASSWORD_FILE)]; gets $f pw; close $f
spawn tccp-connect --host login-mfa start
expect_after timeout { puts "\ntimed out"; exit 99 }
expect "Password: "
send -- "$pw\r"
expect "Verification code: "
set code [exec oathtool --totp -b - < $env(TCCP_CLUSTER_TOTP_SECRET_FILE)]
send -- "$code\r"
expect "connected to tccpuser@login-mfa"
expect eof
catch wait r
exit [lindex $r 3]
EOF
  run timeout 90 expect "$T/start.exp"
  assert_success
  assert_equal "$(master_state login-mfa)" connected
  run no_tty tccp-connect --host login-mfa exec 'echo no-prompt'
  assert_success
  assert_output "no-prompt"
}

@test "connect: a failed login makes start fail with the reason and leaves no master" {
  run --separate-stderr no_tty tccp-connect --host login-mfa start
  assert_equal "$status" 5
  [[ "$stderr" == *"permission denied for tccpuser@login-mfa"* ]]
  assert_equal "$(master_state login-mfa)" stopped
}

@test "connect: one MFA login serves 20 parallel clients, within the session cap" {
  local before after i
  before=$(accepted_logins)
  start_master login-mfa --askpass "$T/askpass" --max-sessions 10 >/dev/null
  assert_equal "$(askpass_calls)" 2
  # Secrets must not show in any process's argv or environment meanwhile.
  (while [ ! -e "$T/stop-scan" ]; do
    cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n'
  done) >"$T/argv.txt" 2>/dev/null 3>&- &
  local scanner=$!
  local t0=$SECONDS
  for i in $(seq 20); do
    tccp-connect --host login-mfa exec "sleep 1; echo client $i; exit $((i % 5))" >"$T/out.$i" 2>&1 &
    echo $! >"$T/pid.$i"
  done
  for i in $(seq 20); do
    local rc=0
    wait "$(cat "$T/pid.$i")" || rc=$?
    assert_equal "$rc" $((i % 5))
    assert_equal "$(cat "$T/out.$i")" "client $i"
  done
  local elapsed=$((SECONDS - t0))
  touch "$T/stop-scan"
  wait "$scanner"
  # 20 one-second commands, 10 at a time: two rounds.
  [ "$elapsed" -ge 2 ]
  [ "$elapsed" -le 8 ]
  assert_equal "$(askpass_calls)" 2
  after=$(accepted_logins)
  assert_equal "$((after - before))" 1
  oathtool --totp -b - <"$TCCP_CLUSTER_TOTP_SECRET_FILE" >"$T/otp"
  run grep -cxF -f "$TCCP_CLUSTER_PASSWORD_FILE" "$T/argv.txt"
  assert_output "0"
  run grep -cxF -f "$T/otp" "$T/argv.txt"
  assert_output "0"
  run grep -rlF -f "$TCCP_CLUSTER_PASSWORD_FILE" "$TCCP_HOME" "${XDG_RUNTIME_DIR:-$TCCP_HOME}" \
    "$T/askpass.calls" "$TCCP_CLUSTER_LOGS"
  assert_failure
}

@test "connect: a server allowing fewer sessions than the cap makes requests wait, not fail" {
  private_sshd small "$(printf 'AuthenticationMethods publickey\nMaxSessions 3')" \
    "$(printf '  IdentityFile %s\n  IdentitiesOnly yes' "$TCCP_CLUSTER_KEY")"
  start_master small --max-sessions 10 >/dev/null
  local i
  for i in $(seq 8); do
    tccp-connect --host small exec "sleep 1; echo $i" >"$T/small.$i" 2>&1 &
    echo $! >"$T/small.pid.$i"
  done
  for i in $(seq 8); do
    wait "$(cat "$T/small.pid.$i")"
    assert_equal "$(cat "$T/small.$i")" "$i"
  done
  # The server did refuse sessions beyond its 3; nobody saw it.
  grep -q "no more sessions" "$T/small.sshd.log"
}

# has_spare NAME: the master holds a channel opened ahead of need.
has_spare() { [ "$(tccp-connect --host "$1" status --json | jq -r .data.spare_channels)" = 1 ]; }

@test "connect: the master keeps one channel open ahead, so a request opens none of its own" {
  private_sshd ahead "$(printf 'AuthenticationMethods publickey\nLogLevel DEBUG1')" \
    "$(printf '  IdentityFile %s\n  IdentitiesOnly yes' "$TCCP_CLUSTER_KEY")"
  start_master ahead >/dev/null
  wait_until 10 has_spare ahead
  local i
  for i in 1 2 3; do
    run tccp-connect --host ahead exec "echo $i"
    assert_success
    assert_output "$i"
    wait_until 10 has_spare ahead
  done
  # Three requests ran on the channels opened ahead of them: the server saw
  # the first spare, then one more after each request (the one waiting now).
  run grep -c 'server_input_channel_open: ctype session' "$T/ahead.sshd.log"
  assert_output 4
  run tccp-connect --host ahead status --json
  assert_equal "$(jq -r .data.open_channels <<<"$output")" 0
  assert_equal "$(jq -r .data.session_channels <<<"$output")" 0
  # With only the spare open, the master still reads the link: when the
  # server's side goes, it notices, reconnects and parks a new spare.
  local log
  log=$(jq -r .data.socket <<<"$output")
  log=${log%.sock}.log
  pkill -P "$(cat "$T/ahead.pid")"
  wait_until 10 grep -q "connection to .* lost" "$log"
  wait_until 10 has_spare ahead
  run tccp-connect --host ahead exec 'echo after'
  assert_output after
}

@test "connect: 200 MB each way through the master arrive intact" {
  start_master login-mfa --askpass "$T/askpass" >/dev/null
  head -c 200000000 /dev/urandom >"$T/up.bin"
  local want
  want=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)
  run tccp-connect --host login-mfa exec 'sha256sum | cut -d" " -f1' <"$T/up.bin"
  assert_success
  assert_output "$want"
  run tccp-connect --host login-mfa exec 'head -c 200000000 /dev/urandom > ~/.tccp-bats-down.bin && sha256sum < ~/.tccp-bats-down.bin | cut -d" " -f1'
  assert_success
  want=$output
  run bash -c "tccp-connect --host login-mfa exec 'cat ~/.tccp-bats-down.bin; rm -f ~/.tccp-bats-down.bin' | sha256sum | cut -d' ' -f1"
  assert_success
  assert_output "$want"
}

@test "connect: a client that stops reading stalls only itself, with bounded memory" {
  start_master login >/dev/null
  # A's output goes to a pipe nobody reads: the pipe, then the master's
  # buffer for A, then A's SSH window fill up.
  mkfifo "$T/fifo"
  sleep 120 <"$T/fifo" 3>&- &
  echo $! >>"$T/pids"
  tccp-connect --host login exec 'cat /dev/zero' >"$T/fifo" 3>&- &
  local a=$!
  echo "$a" >>"$T/pids"
  wait_until 10 grep -q pipe_write "/proc/$a/wchan"
  local t0=$SECONDS
  run bash -c "tccp-connect --host login exec 'head -c 100000000 /dev/zero' | wc -c"
  assert_success
  assert_output "100000000"
  [ $((SECONDS - t0)) -le 10 ]
  local pid rss
  pid=$(tccp-connect --host login status --json | jq .data.pid)
  rss=$(ps -o rss= -p "$pid")
  [ "$rss" -lt 100000 ] # KiB: the stalled channel holds about one window, not the stream
}

@test "connect: a client that goes away ends its remote command" {
  start_master login >/dev/null
  tccp-connect --host login exec 'sleep 317' 3>&- &
  local client=$!
  wait_until 10 tccp-connect --host login exec -n 'pgrep -u "$(id -u)" -f "^sleep 317"' >/dev/null
  kill -9 "$client"
  wait_until 10 bash -c '! tccp-connect --host login exec -n "pgrep -u \$(id -u) -f \"^sleep 317\""' >/dev/null
}

@test "connect: a silent link fails the running command with exit 6; the next command works" {
  local port
  port=$(start_proxy "$TCCP_CLUSTER_KEY_PORT")
  proxy_config "$port" "$TCCP_CLUSTER_KEY_PORT"
  export TCCP_SSH_CONFIG=$T/proxy_ssh_config
  start_master viaproxy >/dev/null
  tccp-connect --host viaproxy exec 'echo started; sleep 60' >"$T/long.out" 2>&1 3>&- &
  local long=$!
  wait_until 10 grep -q started "$T/long.out"
  kill -STOP "$(cat "$T/proxy.pid")" # packets stop; TCP stays up
  local rc=0
  wait "$long" || rc=$?
  assert_equal "$rc" 6
  run cat "$T/long.out"
  assert_line --partial "lost the connection to tccpuser@viaproxy: no answer from the server"
  kill -CONT "$(cat "$T/proxy.pid")"
  run tccp-connect --host viaproxy exec 'echo after'
  assert_success
  assert_output "after"
  run tccp-connect --host viaproxy status --json
  assert_equal "$(jq -r .data.reconnects <<<"$output")" 1
}

@test "connect: killing the link mid-command gives exit 6; the master asks for MFA again and recovers" {
  local port
  port=$(start_proxy 22)
  proxy_config "$port" 22
  sed -i '/IdentityFile\|IdentitiesOnly/d' "$T/proxy_ssh_config"
  echo "  PubkeyAuthentication no" >>"$T/proxy_ssh_config"
  export TCCP_SSH_CONFIG=$T/proxy_ssh_config
  start_master viaproxy --askpass "$T/askpass" >/dev/null
  assert_equal "$(askpass_calls)" 2
  tccp-connect --host viaproxy exec 'echo started; sleep 60' >"$T/long.out" 2>&1 3>&- &
  local long=$!
  wait_until 10 grep -q started "$T/long.out"
  kill -9 "$(cat "$T/proxy.pid")"
  local rc=0
  wait "$long" || rc=$?
  assert_equal "$rc" 6
  # While the link is down a command fails at once, in words.
  run --separate-stderr tccp-connect --host viaproxy exec true
  assert_equal "$status" 6
  [[ "$stderr" == *"cannot reach tccpuser@viaproxy (127.0.0.1:$port): Connection refused"* ]]
  PROXY_PORT=$port start_proxy 22 >/dev/null
  run tccp-connect --host viaproxy exec 'echo back'
  assert_success
  assert_output "back"
  # Password and code once more, from askpass (the master has no terminal).
  assert_equal "$(askpass_calls)" 4
}

@test "connect: an idle master ends itself after its idle timeout" {
  start_master login --idle-timeout 2 >/dev/null
  assert_equal "$(master_state login)" connected
  # (its spare channel is no work that keeps it alive)
  wait_until 10 has_spare login
  wait_until 15 bash -c '[ "$(tccp-connect --host login status --json | jq -r .data.state)" = stopped ]'
}

@test "connect: tools use the master without prompting, and connect directly without one" {
  start_master login-mfa --askpass "$T/askpass" >/dev/null
  # No askpass now: only the master can log this in.
  run tccp-connect --host login-mfa exec 'echo via-master'
  assert_success
  assert_output "via-master"
  tccp-connect --host login-mfa stop
  run no_tty tccp-connect --host login-mfa exec true
  assert_equal "$status" 5
}

# ---- setup ---------------------------------------------------------------------------

@test "setup: records the profile and a stored password that then answers the password prompt" {
  run --separate-stderr tccp-connect setup --host login-mfa --askpass "$T/askpass" \
    --store-password-from-stdin --json <"$TCCP_CLUSTER_PASSWORD_FILE"
  assert_success
  assert_equal "$(jq -r .type <<<"$output")" cluster
  assert_equal "$(jq -r .data.host <<<"$output")" login-mfa
  assert_equal "$(jq -r .data.askpass <<<"$output")" "$T/askpass"
  assert_equal "$(jq -r .data.setup.checked <<<"$output")" true
  assert_equal "$(jq -r .data.setup.password_stored <<<"$output")" file
  [[ "$stderr" == *"warning: no desktop keyring found: the password is stored in $TCCP_HOME/credentials (mode 0600"* ]]
  [ "$(stat -c %a "$TCCP_HOME/credentials")" = 600 ]
  [ "$(stat -c %a "$TCCP_HOME")" = 700 ]
  run grep -F -f "$TCCP_CLUSTER_PASSWORD_FILE" "$TCCP_HOME/credentials" "$TCCP_HOME/config.yaml"
  assert_failure
  assert_equal "$(cat "$T/askpass.calls")" "Verification code: "
  grep -qx '  host: login-mfa' "$TCCP_HOME/config.yaml"
  # The profile is now the default cluster: no --host needed.
  run tccp-connect exec 'echo from-profile'
  assert_success
  assert_output "from-profile"
  assert_equal "$(grep -c . "$T/askpass.calls")" 2
  grep -qvx 'Password: ' "$T/askpass.calls"
}

@test "setup: on a terminal asks host, user and method, checks the host key, stores the password" {
  sed "s#UserKnownHostsFile .*#UserKnownHostsFile /dev/null#" "$TCCP_CLUSTER_SSH_CONFIG" >"$T/cfg"
  export TCCP_SSH_CONFIG=$T/cfg
  cat >"$T/setup.exp" <<'EOF'
set timeout 30
set f [open $env(TCCP_CLUSTER_PASSWORD_FILE)]; gets $f pw; close $f
spawn tccp-connect setup
expect_after timeout { puts "\ntimed out"; exit 99 }
expect "Cluster login host (or ssh alias): "
send "login-mfa\r"
expect -ex "User on the cluster \[tccpuser\]: "
send "\r"
expect -ex "('password') \[key\]: "
send "password\r"
expect -ex "Store the password so tccp can answer the password prompt? (yes/no) \[no\]: "
send "yes\r"
expect "ED25519 key fingerprint is SHA256:"
expect -ex "Are you sure you want to continue connecting (yes/no)? "
send "yes\r"
expect "Password: "
send -- "$pw\r"
expect "Verification code: "
set code [exec oathtool --totp -b - < $env(TCCP_CLUSTER_TOTP_SECRET_FILE)]
send -- "$code\r"
expect "cluster saved in"
expect eof
catch wait r
exit [lindex $r 3]
EOF
  run timeout 90 expect "$T/setup.exp"
  assert_success
  assert_output --partial "warning: no desktop keyring found"
  grep -qx '  host: login-mfa' "$TCCP_HOME/config.yaml"
  grep -qx '  user: tccpuser' "$TCCP_HOME/config.yaml"
  grep -q '^login-mfa\|^10.77.1.2 ssh-ed25519 ' "$TCCP_HOME/known_hosts"
  [ "$(stat -c %a "$TCCP_HOME/credentials")" = 600 ]
  # The stored password answers the password prompt; askpass only the code.
  run no_tty tccp-connect --askpass "$T/askpass" exec 'echo stored'
  assert_success
  assert_output "stored"
  assert_equal "$(cat "$T/askpass.calls")" "Verification code: "
}

@test "setup: keeps the other settings of config.yaml" {
  global_config <<'EOF'
gpu: a100
cluster:
  host: old-host
  remote_root: /scratch/tccp
EOF
  run tccp-connect setup --host login --no-check
  assert_success
  run cat "$TCCP_HOME/config.yaml"
  assert_line "gpu: a100"
  assert_line "  remote_root: /scratch/tccp"
  assert_line "  host: login"
  # Still a valid global config for every tool.
  run tccp-connect status --json
  assert_success
  assert_equal "$(jq -r .data.host <<<"$output")" login
}
