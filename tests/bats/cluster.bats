#!/usr/bin/env bats
# End-to-end checks of the tccp local SLURM cluster (tests/cluster/cluster.sh): hosts and
# namespaces, the three ssh doors of login, SLURM scheduling and accounting as tccpuser over ssh,
# fake GPUs, Python on the nodes, the WAN delay proxy, and a clean down/up cycle (last test).
# Needs root; every test is skipped otherwise.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load 'helpers/cluster'

setup_file() {
  cluster_setup_file
  cluster_is_root || return 0
  cluster_ssh 'mkdir -p ~/bats-cluster && rm -f ~/bats-cluster/slurm-*.out'
  # The GRES and placement checks need the nodes to themselves: jobs other
  # suites left behind are cancelled first.
  cluster_ssh 'scancel -u tccpuser' || true
  wait_until 60 queue_is_empty
  # The time-limit job runs while the other tests do; its check comes near the end.
  TIMEOUT_JOB=$(cluster_ssh "cd ~/bats-cluster && sbatch --parsable -J bats-timeout -t 1 -o /dev/null --wrap 'sleep 600'")
  export TIMEOUT_JOB
}

setup() {
  cluster_require
}

teardown() {
  if [ -f "$BATS_TEST_TMPDIR/restore-wan" ]; then "$TCCP_CLUSTER_SH" wan restore >/dev/null || true; fi
  if [ -f "$BATS_TEST_TMPDIR/restore-delay" ]; then
    "$TCCP_CLUSTER_SH" delay "$(cat "$BATS_TEST_TMPDIR/restore-delay")" >/dev/null || true
  fi
  if [ -n "${ALLOC_JOB:-}" ]; then cluster_ssh "scancel $ALLOC_JOB" || true; fi
  cluster_teardown
}

# submit SBATCH-ARGS: sbatch as tccpuser on login (from ~/bats-cluster), prints the job id
submit() {
  cluster_ssh "cd ~/bats-cluster && sbatch --parsable $*"
}

queue_is_empty() {
  [ -z "$(cluster_ssh 'squeue -h -u tccpuser -o %i')" ]
}

job_running() {
  [ "$(cluster_ssh "squeue -h -j $1 -o %T")" = RUNNING ]
}

has_content() {
  cluster_ssh "test -s $1"
}

sacct_is() {  # sacct_is JOBID FIELDS EXPECTED
  [ "$(cluster_ssh "sacct -n -X -P -j $1 -o $2")" = "$3" ]
}

step_completed() {
  cluster_ssh "sacct -n -P -j ${1%.*} -o JobID,State" | grep -qxF "$1|COMPLETED"
}

ms_now() { echo $(($(date +%s%N) / 1000000)); }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

askpass() {
  env SSH_ASKPASS="$TCCP_CLUSTER_ASKPASS" SSH_ASKPASS_REQUIRE=force DISPLAY= "$@" </dev/null
}

# ---------------------------------------------------------------- hosts

@test "status lists the three hosts, their daemons and sinfo" {
  run "$TCCP_CLUSTER_SH" status
  assert_success
  assert_output --regexp 'login +up .*slurmctld'
  assert_output --regexp 'login +up .*slurmdbd'
  assert_output --regexp 'c1 +up .*slurmd'
  assert_output --regexp 'c2 +up .*slurmd'
  assert_output --partial 'batch*'
  assert_output --partial 'gpu:a100:2'
  assert_output --partial 'gpu:t4:2'
}

@test "up is idempotent: a second up finds the cluster up" {
  run "$TCCP_CLUSTER_SH" up
  assert_success
  assert_output --partial 'already up'
}

@test "hosts have their own hostname, /etc/hosts and /tmp, and share /home" {
  run cluster_x login hostname
  assert_output login
  run cluster_x c1 hostname
  assert_output c1
  run cluster_x c2 getent hosts c1
  assert_output --partial 10.77.0.11
  local marker=bats-$$-$RANDOM
  cluster_x c1 touch "/tmp/$marker"
  run cluster_x c2 test -e "/tmp/$marker"
  assert_failure
  run test -e "/tmp/$marker"
  assert_failure
  cluster_x c1 rm -f "/tmp/$marker"
  cluster_ssh "echo $marker > ~/bats-cluster/shared"
  run cluster_x c2 cat "$TCCP_CLUSTER_HOME/bats-cluster/shared"
  assert_output "$marker"
}

# ---------------------------------------------------------------- ssh

@test "key login to login; login reaches c1 and c2 by ssh; ProxyJump from the laptop" {
  run cluster_ssh hostname
  assert_success
  assert_output login
  run cluster_ssh 'ssh -o BatchMode=yes c1 hostname && ssh -o BatchMode=yes c2 hostname'
  assert_success
  assert_output "$(printf 'c1\nc2')"
  run ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath=none c2 hostname
  assert_success
  assert_output c2
}

@test "host keys verify strictly on the direct and WAN addresses (ed25519 and ecdsa)" {
  local alg target
  for alg in ssh-ed25519 ecdsa-sha2-nistp256; do
    for target in "$TCCP_CLUSTER_HOST $TCCP_CLUSTER_KEY_PORT" "$TCCP_CLUSTER_WAN_HOST $TCCP_CLUSTER_WAN_KEY_PORT"; do
      set -- $target
      run ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null \
        -o UserKnownHostsFile="$TCCP_CLUSTER_KNOWN_HOSTS" -o HostKeyAlgorithms="$alg" \
        -i "$TCCP_CLUSTER_KEY" -o IdentitiesOnly=yes -p "$2" "$TCCP_CLUSTER_USER@$1" hostname
      assert_success
      assert_output login
    done
  done
  # c1's key presented as login's must be refused
  grep '^c1 ' "$TCCP_CLUSTER_KNOWN_HOSTS" | sed "s/^c1 /[$TCCP_CLUSTER_HOST]:$TCCP_CLUSTER_KEY_PORT /" >"$BATS_TEST_TMPDIR/bad_known_hosts"
  run ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null \
    -o UserKnownHostsFile="$BATS_TEST_TMPDIR/bad_known_hosts" -i "$TCCP_CLUSTER_KEY" -o IdentitiesOnly=yes \
    -p "$TCCP_CLUSTER_KEY_PORT" "$TCCP_CLUSTER_USER@$TCCP_CLUSTER_HOST" true
  assert_failure
  assert_output --partial 'HOST IDENTIFICATION HAS CHANGED'
}

@test "password + TOTP login through OpenSSH with askpass; a code is reusable in its window" {
  [ "$(stat -c '%a %U' "$TCCP_CLUSTER_PASSWORD_FILE")" = "600 root" ]
  [ "$(stat -c '%a %U' "$TCCP_CLUSTER_TOTP_SECRET_FILE")" = "600 root" ]
  local i
  for i in 1 2 3; do
    run askpass ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath=none login-mfa hostname
    assert_success
    assert_output login
  done
  run askpass ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath=none login-wan-mfa hostname
  assert_success
  assert_output login
  # the key alone does not open the password+TOTP door
  run ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath=none -o Port="$TCCP_CLUSTER_PORT" login true
  assert_failure
}

@test "a wrong TOTP code or a wrong password is refused" {
  local code wrong
  code=$(oathtool --totp -b - <"$TCCP_CLUSTER_TOTP_SECRET_FILE")
  # a code that is none of the accepted ones (previous, current, next step)
  wrong=$(printf '%06d' $(((10#$code + 500000) % 1000000)))
  cat >"$BATS_TEST_TMPDIR/askpass-bad" <<EOF
#!/bin/sh
case "\$1" in
  *[Pp]assword*) if [ "\${BAD_PASSWORD:-}" = 1 ]; then echo not-the-password; else head -n 1 "$TCCP_CLUSTER_PASSWORD_FILE"; fi ;;
  *) echo $wrong ;;
esac
EOF
  chmod 0700 "$BATS_TEST_TMPDIR/askpass-bad"
  run env SSH_ASKPASS="$BATS_TEST_TMPDIR/askpass-bad" SSH_ASKPASS_REQUIRE=force \
    ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath=none -o NumberOfPasswordPrompts=1 login-mfa true </dev/null
  assert_failure 255
  assert_output --partial 'Permission denied'
  run env BAD_PASSWORD=1 SSH_ASKPASS="$BATS_TEST_TMPDIR/askpass-bad" SSH_ASKPASS_REQUIRE=force \
    ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath=none -o NumberOfPasswordPrompts=1 login-mfa true </dev/null
  assert_failure 255
}

@test "key + TOTP door: key then code works, the key alone does not" {
  run askpass ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath=none login-keytotp hostname
  assert_success
  assert_output login
  run ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath=none -o BatchMode=yes login-keytotp true
  assert_failure
}

# ---------------------------------------------------------------- SLURM

@test "batch job lands on c1 or c2 and sacct reports COMPLETED 0:0 for tccpuser/tccp" {
  local j
  j=$(submit "-J bats-ok --wrap 'hostname; python3 -c \"print(6*7)\"'")
  wait_until 60 cluster_job_is "$j" COMPLETED
  run cluster_job_state "$j"
  assert_output --regexp '^COMPLETED\|0:0\|c[12]$'
  run cluster_ssh "cat ~/bats-cluster/slurm-$j.out"
  assert_output --regexp '^c[12]'$'\n''42$'
  # sacct fills some fields a moment after the state
  wait_until 20 sacct_is "$j" User,Account,Partition "tccpuser|tccp|batch"
}

@test "a job with a non-zero exit is FAILED with that exit code" {
  local j
  j=$(submit "-J bats-fail --wrap 'exit 3'")
  wait_until 60 cluster_job_is "$j" FAILED
  run cluster_job_state "$j"
  assert_output --regexp '^FAILED\|3:0\|c[12]$'
}

@test "--gres=gpu:a100:1 runs on c1 with CUDA_VISIBLE_DEVICES; gpu:t4 on c2; sinfo shows GRES used" {
  local ja jt
  ja=$(submit "-p gpu --gres=gpu:a100:1 -t 5 -J bats-a100 --wrap 'echo \$(hostname) CUDA=\$CUDA_VISIBLE_DEVICES; sleep 300'")
  jt=$(submit "-p gpu --gres=gpu:t4:2 -t 5 -J bats-t4 --wrap 'echo \$(hostname) CUDA=\$CUDA_VISIBLE_DEVICES; sleep 300'")
  wait_until 30 job_running "$ja"
  wait_until 30 job_running "$jt"
  run cluster_ssh "sinfo -h -N -p gpu -O 'NodeList:|,Gres:|,GresUsed:|'"
  assert_output --regexp 'c1\|gpu:a100:2\|gpu:a100:1\(IDX:[01]\)'
  assert_output --regexp 'c2\|gpu:t4:2\|gpu:t4:2\(IDX:0-1\)'
  wait_until 20 has_content "~/bats-cluster/slurm-$ja.out"
  wait_until 20 has_content "~/bats-cluster/slurm-$jt.out"
  run cluster_ssh "cat ~/bats-cluster/slurm-$ja.out"
  assert_output --regexp '^c1 CUDA=[01]$'
  run cluster_ssh "cat ~/bats-cluster/slurm-$jt.out"
  assert_output 'c2 CUDA=0,1'
  cluster_ssh "scancel $ja $jt"
  wait_until 30 cluster_job_is "$ja" CANCELLED
  run cluster_ssh "sacct -n -X -P -j $ja -o AllocTRES"
  assert_output --partial 'gres/gpu:a100=1'
}

@test "srun --jobid=<allocation> --overlap runs a step inside a salloc allocation" {
  ALLOC_JOB=$(cluster_ssh "timeout 60 salloc --no-shell -t 5 -J bats-alloc 2>&1 | sed -n 's/.*Granted job allocation \([0-9]*\).*/\1/p'")
  [ -n "$ALLOC_JOB" ]
  run cluster_ssh "srun --jobid=$ALLOC_JOB --overlap bash -c 'echo \$SLURM_JOB_ID \$(hostname)'"
  assert_success
  assert_output --regexp "^$ALLOC_JOB c[12]$"
  run cluster_ssh "squeue -h -j $ALLOC_JOB -o %T"
  assert_output RUNNING
  wait_until 20 step_completed "$ALLOC_JOB.0"
}

@test "dtach under srun --overlap lives in the allocation and scancel ends it (proctrack/cgroup)" {
  ALLOC_JOB=$(cluster_ssh "timeout 60 salloc --no-shell -t 5 -J bats-dtach 2>&1 | sed -n 's/.*Granted job allocation \([0-9]*\).*/\1/p'")
  [ -n "$ALLOC_JOB" ]
  local node
  node=$(cluster_ssh "squeue -h -j $ALLOC_JOB -o %N")
  # srun stays in the foreground of its own background shell: the step (and dtach) is tracked
  cluster_ssh "cd ~/bats-cluster; nohup srun --jobid=$ALLOC_JOB --overlap dtach -N /tmp/bats-$ALLOC_JOB.sock sleep 300 >/dev/null 2>&1 </dev/null &"
  wait_until 20 cluster_x "$node" test -S "/tmp/bats-$ALLOC_JOB.sock"
  run cluster_x login test -e "/tmp/bats-$ALLOC_JOB.sock"
  assert_failure
  cluster_ssh "scancel $ALLOC_JOB"
  wait_until 30 bash -c "! '$TCCP_CLUSTER_SH' x $node pgrep -u $TCCP_CLUSTER_USER -f 'dtach -N /tmp/bats-$ALLOC_JOB.sock' >/dev/null"
  wait_until 30 cluster_job_is "$ALLOC_JOB" CANCELLED
  ALLOC_JOB=
}

# ---------------------------------------------------------------- Python on the nodes

@test "compute nodes have python3 with venv, numpy, pandas, scikit-learn, dtach and tmux" {
  run cluster_ssh_to c2 "python3 -c 'import venv, numpy, pandas, sklearn; print(\"py ok\")' && command -v dtach tmux"
  assert_success
  assert_line 'py ok'
  assert_line /usr/bin/dtach
  assert_line /usr/bin/tmux
}

@test "pip installs a wheel from the cluster's own index on a compute node (no internet)" {
  run cluster_ssh_to c1 "d=\$(mktemp -d) && python3 -m venv \$d/v && \$d/v/bin/pip install -q --disable-pip-version-check --index-url $TCCP_CLUSTER_PIP_INDEX tccp-demo-extra && \$d/v/bin/python -c 'import tccp_demo_extra as m; print(m.hello())'; rc=\$?; rm -rf \$d; exit \$rc"
  assert_success
  assert_output --partial 'tccp-demo-extra 0.1.0 says hello to tccp'
}

# ---------------------------------------------------------------- WAN

@test "TCCP_WAN_DELAY_MS=50 gives ~100 ms ssh round trips through the proxy" {
  echo "$TCCP_WAN_DELAY_MS" >"$BATS_TEST_TMPDIR/restore-delay"
  run "$TCCP_CLUSTER_SH" delay 50
  assert_success
  run grep -x 'TCCP_WAN_DELAY_MS=50' "$TCCP_CLUSTER_RUN/cluster.env"
  assert_success

  # one round trip = a line sent to `cat` on login over an open session, and back
  local line t0 i rtts=() mux=() ctl="$TCCP_CLUSTER_RUN/ctl/bats-wan-$$"
  coproc WANCAT { ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath=none login-wan 'exec cat'; }
  echo warm >&"${WANCAT[1]}"
  read -r -t 15 line <&"${WANCAT[0]}"
  [ "$line" = warm ]
  for i in 1 2 3 4 5; do
    t0=$(ms_now)
    echo "ping $i" >&"${WANCAT[1]}"
    read -r -t 5 line <&"${WANCAT[0]}"
    [ "$line" = "ping $i" ]
    rtts+=($(($(ms_now) - t0)))
  done
  exec {WANCAT[1]}>&-
  wait "$WANCAT_PID" || true
  local rtt
  rtt=$(printf '%s\n' "${rtts[@]}" | median)
  echo "# echo round trips: ${rtts[*]} ms (median $rtt)" >&3
  [ "$rtt" -ge 95 ] && [ "$rtt" -le 170 ]

  # a command over an existing ControlMaster: channel open + exec + exit ~ 2 round trips
  ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlMaster=yes -o ControlPath="$ctl" -o ControlPersist=30 -fN login-wan
  for i in 1 2 3; do
    t0=$(ms_now)
    ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath="$ctl" login-wan true
    mux+=($(($(ms_now) - t0)))
  done
  ssh -o ControlPath="$ctl" -O exit login-wan 2>/dev/null || true
  local m
  m=$(printf '%s\n' "${mux[@]}" | median)
  echo "# multiplexed 'ssh login-wan true': ${mux[*]} ms (median $m)" >&3
  [ "$m" -ge 190 ] && [ "$m" -le 450 ]
}

@test "wan cut makes new connections to login fail; wan restore heals" {
  touch "$BATS_TEST_TMPDIR/restore-wan"
  run "$TCCP_CLUSTER_SH" wan cut
  assert_success
  run ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath=none -o ConnectTimeout=2 login true
  assert_failure 255
  run "$TCCP_CLUSTER_SH" wan restore
  assert_success
  rm -f "$BATS_TEST_TMPDIR/restore-wan"
  run ssh -F "$TCCP_CLUSTER_SSH_CONFIG" -o ControlPath=none login hostname
  assert_success
  assert_output login
}

# ---------------------------------------------------------------- slow / destructive, last

@test "a job past its 1-minute time limit ends as TIMEOUT" {
  [ -n "${TIMEOUT_JOB:-}" ]
  wait_until 150 cluster_job_is "$TIMEOUT_JOB" TIMEOUT
  run cluster_ssh "sacct -n -X -P -j $TIMEOUT_JOB -o State,Timelimit"
  assert_output 'TIMEOUT|00:01:00'
}

@test "down leaves nothing behind; up brings the cluster back (warm) in under 60 s" {
  local forward_before
  forward_before=$(sysctl -n net.ipv4.ip_forward)
  run "$TCCP_CLUSTER_SH" down
  assert_success

  run ip netns list
  refute_output --partial tccp-
  run ip -o link show
  refute_output --partial tccp-
  run mount
  refute_output --partial tccp-run-
  refute_output --partial "$TCCP_CLUSTER_RUN"
  run nft list tables
  refute_output --partial tccp
  # no live process of the cluster (zombies only wait for PID 1 to reap them)
  run bash -c "ps -eo stat=,comm=,args= | awk '\$1 !~ /^Z/ && (\$2 ~ /^(slurmctld|slurmd|slurmdbd|slurmstepd|mariadbd|munged|tini)\$/ || /delay-proxy\\.py/)'"
  assert_output ''
  run bash -c 'ls -d /sys/fs/cgroup/*/slurm_c* 2>/dev/null'
  assert_output ''
  [ "$(sysctl -n net.ipv4.ip_forward)" = "$forward_before" ]
  run "$TCCP_CLUSTER_SH" status
  assert_failure 3

  local t0 secs
  t0=$(ms_now)
  run "$TCCP_CLUSTER_SH" up
  assert_success
  secs=$((($(ms_now) - t0) / 1000))
  echo "# warm bring-up: ${secs}s" >&3
  [ "$secs" -lt 60 ]
  run "$TCCP_CLUSTER_SH" check
  assert_success
  run cluster_ssh hostname
  assert_output login
}
