#!/bin/bash
# tccp local SLURM cluster: a small but real cluster on this one machine, for tests and the demo.
#
#   laptop (root netns) 10.77.1.1 --veth tccp-wan/wan0-- 10.77.1.2 login
#     delay proxy on 10.77.1.1:2200/2201/2202 -> login:22/2222/2223 (TCCP_WAN_DELAY_MS one-way)
#   cluster LAN (bridge br0 in netns tccp-lan): login 10.77.0.10, c1 10.77.0.11, c2 10.77.0.12
#
#   login: sshd (22 password+TOTP, 2222 key, 2223 key+TOTP), munged, MariaDB, slurmdbd,
#          slurmctld, PEP 503 package index (http://login:8080/simple/)
#   c1:    sshd, munged, slurmd, fake GPUs gpu:a100:2      c2: same with gpu:t4:2
#
# Every host is its own network, UTS, mount and PID namespace whose PID 1 is tini; it has its
# own hostname, /etc/hosts, /etc/ssh (host keys), /run and /tmp, and shares the rest of the
# filesystem (/home, users, packages) like nodes sharing NFS.
#
# Usage: cluster.sh up | down | status | check | x|xu HOST CMD... | delay MS | wan cut|restore
#                   | logs [LINES] | env | purge
# Environment: TCCP_CLUSTER_RUN (run dir, default /var/lib/tccp-cluster)
#              TCCP_WAN_DELAY_MS (one-way delay laptop<->login through the proxy, default 0)
# Connection details for tests and the demo: $TCCP_CLUSTER_RUN/cluster.env and ssh_config.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
RUN=${TCCP_CLUSTER_RUN:-/var/lib/tccp-cluster}

CLUSTER_NAME=tccp
TUSER=tccpuser
ACCOUNT=tccp
HOSTS=(login c1 c2)
NODES=(c1 c2)
declare -A IP=([login]=10.77.0.10 [c1]=10.77.0.11 [c2]=10.77.0.12)
declare -A GPU=([c1]=a100 [c2]=t4)
GPUS_PER_NODE=2
LAN_PREFIX=24
LAPTOP_IP=10.77.1.1
LOGIN_WAN_IP=10.77.1.2
WAN_PREFIX=30
NS_PREFIX=tccp-
LAN_NS=tccp-lan
WAN_IF=tccp-wan
SSH_PORT=22
KEY_PORT=2222
KEY_TOTP_PORT=2223
WAN_PORT=2200
WAN_KEY_PORT=2201
WAN_KEY_TOTP_PORT=2202
PIP_PORT=8080
NODE_CPUS=8
NODE_MEM=8000
SYS_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PY=/usr/bin/python3

PACKAGES=(
  slurm-wlm slurmctld slurmd slurm-client slurmdbd munge mariadb-server
  openssh-server openssh-client sshpass libpam-google-authenticator oathtool
  tini iproute2 nftables procps util-linux rsync dtach tmux
  python3 python3-venv python3-pip python3-setuptools python3-wheel
  python3-numpy python3-pandas python3-sklearn
)

SECRETS=$RUN/secrets
STATE=$RUN/state
LOGS=$RUN/logs

say() { printf '%s\n' "$*"; }
warn() { printf 'cluster: %s\n' "$*" >&2; }
die() { warn "$*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

need_root() { [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, daemons, a test user)"; }

check_run_path() {
  case $RUN in
    /*) ;;
    *) die "TCCP_CLUSTER_RUN must be an absolute path: $RUN" ;;
  esac
  case $RUN in
    *[[:space:]]*) die "TCCP_CLUSTER_RUN must not contain spaces: $RUN" ;;
    /tmp | /tmp/*) die "TCCP_CLUSTER_RUN must not be under /tmp (every host has its own /tmp): $RUN" ;;
    /root | /root/*) die "TCCP_CLUSTER_RUN must not be under /root (0700, jobs could not read it): $RUN" ;;
  esac
}

# Close every fd above 2 (bats' fd 3, our lock fd) so background daemons hold none of them.
close_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    case $fd in 0 | 1 | 2) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
  done
}

take_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock -w 300 9 || die "another cluster.sh holds $STATE/lock"
}

# ---------------------------------------------------------------- packages

ensure_packages() {
  local p missing=()
  for p in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$LOGS/apt-install.log" 2>&1 ||
    { tail -20 "$LOGS/apt-install.log" >&2; die "apt-get install failed"; }
}

# ---------------------------------------------------------------- hosts (namespaces)

ns_inode() { stat -L -c %i "$1" 2>/dev/null; }

# Root-namespace PID of HOST's tini, only if it really is ours (right netns), else nothing.
holder_pid() {
  local h=$1 pid
  pid=$(cat "$STATE/holder-$h.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tini ] || return 1
  [ -e "/run/netns/$NS_PREFIX$h" ] || return 1
  [ "$(ns_inode "/proc/$pid/ns/net")" = "$(ns_inode "/run/netns/$NS_PREFIX$h")" ] || return 1
  echo "$pid"
}

# x HOST CMD...: run CMD as root "on" HOST (its net, uts, mount and pid namespaces), clean env.
x() {
  local h=$1 pid
  shift
  pid=$(holder_pid "$h") || die "host $h is not running (cluster.sh up)"
  nsenter -t "$pid" --net --uts --mount --pid --wd=/ -- \
    env -i PATH="$SYS_PATH" HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
}

# xu HOST CMD...: run CMD as the test user on HOST, from its home, with a login-like env.
xu() {
  local h=$1 home
  shift
  home=$(getent passwd "$TUSER" | cut -d: -f6)
  # shellcheck disable=SC2016  # expanded by the inner shell
  x "$h" runuser -u "$TUSER" -- env -i PATH="$SYS_PATH" HOME="$home" USER="$TUSER" LOGNAME="$TUSER" \
    SHELL=/bin/bash LANG=C.UTF-8 TERM="${TERM:-dumb}" /bin/sh -c 'cd "$HOME" && exec "$@"' sh "$@"
}

# xd HOST CMD...: like x, for commands that start daemons (no inherited fds, output to a log).
xd() { (close_fds; x "$@" </dev/null >>"$LOGS/daemons.out" 2>&1); }

# spawn_on HOST LOG CMD...: start a non-forking program in the background on HOST.
spawn_on() {
  local h=$1 log=$2
  shift 2
  # shellcheck disable=SC2016  # expanded by the inner shell
  xd "$h" /bin/sh -c 'log=$1; shift; setsid "$@" </dev/null >>"$log" 2>&1 &' sh "$log" "$@"
}

# Runs inside each host's new namespaces before tini becomes its PID 1.
# shellcheck disable=SC2016  # expanded by the inner shell
HOST_INIT='
set -e
h=$1 run=$2
d=$run/hosts/$h
hostname "$h"
mount -t tmpfs -o mode=0755,nosuid,nodev tccp-run-"$h" /run
mkdir -p /run/sshd /run/lock
chmod 1777 /run/lock
install -d -o munge -g munge -m 0755 /run/munge
if [ "$h" = login ]; then install -d -o mysql -g mysql -m 0755 /run/mysqld; fi
mount --bind "$d/tmp" /tmp
mount --bind "$d/hosts" /etc/hosts
mount --bind "$d/ssh" /etc/ssh
mount --bind "$run/etc/slurm" /etc/slurm
if [ -d "$d/pam.d" ]; then mount --bind "$d/pam.d" /etc/pam.d; fi
exec /usr/bin/tini -s -- sleep infinity
'

host_start() {
  local h=$1 upid child="" i
  (
    close_fds
    exec setsid nsenter --net="/run/netns/$NS_PREFIX$h" -- \
      unshare --uts --mount --pid --fork --mount-proc --propagation private -- \
      /bin/sh -c "$HOST_INIT" sh "$h" "$RUN" </dev/null >>"$LOGS/host-$h.log" 2>&1
  ) &
  upid=$!
  for i in $(seq 200); do
    child=$(pgrep -P "$upid" 2>/dev/null | head -n 1 || true)
    [ -n "$child" ] && [ "$(cat "/proc/$child/comm" 2>/dev/null)" = tini ] && break
    kill -0 "$upid" 2>/dev/null || break
    child=""
    sleep 0.02
  done
  [ -n "$child" ] || { tail -5 "$LOGS/host-$h.log" >&2; die "host $h did not start"; }
  echo "$upid" >"$STATE/holder-$h.ppid"
  echo "$child" >"$STATE/holder-$h.pid"
}

net_up() {
  if ! mountpoint -q /run/netns 2>/dev/null; then
    [ -d /run/netns ] || touch "$STATE/netns-dir-created"
    touch "$STATE/netns-mount-created"
  fi
  ip netns add "$LAN_NS"
  ip -n "$LAN_NS" link set lo up
  ip -n "$LAN_NS" link add br0 type bridge
  ip -n "$LAN_NS" link set br0 up
  local h
  for h in "${HOSTS[@]}"; do
    ip netns add "$NS_PREFIX$h"
    ip -n "$NS_PREFIX$h" link set lo up
    ip link add "ve-$h" netns "$LAN_NS" type veth peer name eth0 netns "$NS_PREFIX$h"
    ip -n "$LAN_NS" link set "ve-$h" master br0 up
    ip -n "$NS_PREFIX$h" addr add "${IP[$h]}/$LAN_PREFIX" dev eth0
    ip -n "$NS_PREFIX$h" link set eth0 up
  done
  ip link add "$WAN_IF" type veth peer name wan0 netns "${NS_PREFIX}login"
  ip addr add "$LAPTOP_IP/$WAN_PREFIX" dev "$WAN_IF"
  ip link set "$WAN_IF" up
  ip -n "${NS_PREFIX}login" addr add "$LOGIN_WAN_IP/$WAN_PREFIX" dev wan0
  ip -n "${NS_PREFIX}login" link set wan0 up
}

# ---------------------------------------------------------------- files

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

prepare_dirs() {
  install -d -m 0755 "$RUN" "$LOGS" "$RUN/etc" "$RUN/etc/slurm" "$RUN/hosts" "$RUN/spool" "$RUN/bin" "$RUN/pypi"
  install -d -m 0700 "$SECRETS" "$RUN/ctl" "$STATE/slurmctld"
  chmod 0755 "$STATE"
  install -d -o munge -g munge -m 0700 "$RUN/munge"
  local h
  for h in "${HOSTS[@]}"; do
    install -d -m 0755 "$RUN/hosts/$h" "$RUN/hosts/$h/ssh"
    install -d -m 1777 "$RUN/hosts/$h/tmp"
  done
  for h in "${NODES[@]}"; do install -d -m 0755 "$RUN/spool/$h" "$RUN/hosts/$h/dev"; done
}

prepare_secrets() {
  umask 077
  [ -s "$SECRETS/password" ] || printf 'tccp-%s\n' "$(random_hex 8)" >"$SECRETS/password"
  [ -s "$SECRETS/totp.secret" ] || head -c 20 /dev/urandom | base32 >"$SECRETS/totp.secret"
  [ -s "$SECRETS/db.password" ] || random_hex 12 >"$SECRETS/db.password"
  [ -f "$SECRETS/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "tccp-laptop" -f "$SECRETS/id_ed25519"
  chmod 0600 "$SECRETS/password" "$SECRETS/totp.secret" "$SECRETS/db.password" "$SECRETS/id_ed25519"
  umask 022
  if [ ! -s "$RUN/munge/munge.key" ]; then
    (umask 077 && head -c 1024 /dev/urandom >"$RUN/munge/munge.key")
  fi
  chown munge:munge "$RUN/munge/munge.key"
  chmod 0400 "$RUN/munge/munge.key"
}

prepare_user() {
  id "$TUSER" >/dev/null 2>&1 || useradd -m -s /bin/bash -c "tccp test user" "$TUSER"
  local home key
  home=$(getent passwd "$TUSER" | cut -d: -f6)
  # password via stdin (never argv)
  printf '%s:%s\n' "$TUSER" "$(head -n 1 "$SECRETS/password")" | chpasswd
  install -d -m 0700 -o "$TUSER" -g "$TUSER" "$home/.ssh"
  [ -f "$home/.ssh/id_ed25519" ] ||
    runuser -u "$TUSER" -- ssh-keygen -q -t ed25519 -N '' -C "$TUSER@$CLUSTER_NAME" -f "$home/.ssh/id_ed25519"
  touch "$home/.ssh/authorized_keys"
  for key in "$home/.ssh/id_ed25519.pub" "$SECRETS/id_ed25519.pub"; do
    grep -qxF "$(cat "$key")" "$home/.ssh/authorized_keys" || cat "$key" >>"$home/.ssh/authorized_keys"
  done
  chown "$TUSER:$TUSER" "$home/.ssh/authorized_keys"
  chmod 0600 "$home/.ssh/authorized_keys"
  # TOTP (pam_google_authenticator): no DISALLOW_REUSE and no RATE_LIMIT, so a code can be used
  # for many logins within its 30 s step; WINDOW_SIZE 3 also accepts the neighbouring steps.
  rm -f "$home/.google_authenticator"
  {
    head -n 1 "$SECRETS/totp.secret"
    printf '" WINDOW_SIZE 3\n" TOTP_AUTH\n'
  } >"$home/.google_authenticator"
  chown "$TUSER:$TUSER" "$home/.google_authenticator"
  chmod 0400 "$home/.google_authenticator"
  # the package index is plain http on the cluster network: trust it (index URL stays explicit)
  install -d -m 0755 -o "$TUSER" -g "$TUSER" "$home/.config" "$home/.config/pip"
  printf '[global]\ntrusted-host = login\n' >"$home/.config/pip/pip.conf"
  chown "$TUSER:$TUSER" "$home/.config/pip/pip.conf"
}

write_etc_hosts() {
  local h k
  for h in "${HOSTS[@]}"; do
    {
      echo "127.0.0.1 localhost"
      echo "::1 localhost ip6-localhost ip6-loopback"
      for k in "${HOSTS[@]}"; do echo "${IP[$k]} $k $k.$CLUSTER_NAME.cluster"; done
      echo "$LAPTOP_IP laptop"
    } >"$RUN/hosts/$h/hosts"
  done
}

host_keys() {
  local h d
  for h in "${HOSTS[@]}"; do
    d=$RUN/hosts/$h/ssh
    [ -f "$d/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "root@$h" -f "$d/ssh_host_ed25519_key"
    [ -f "$d/ssh_host_ecdsa_key" ] || ssh-keygen -q -t ecdsa -b 256 -N '' -C "root@$h" -f "$d/ssh_host_ecdsa_key"
  done
}

# known_hosts lines: one name per line (simplest for every parser), both key types.
known_lines() {
  local h=$1 name t
  shift
  for t in ed25519 ecdsa; do
    for name in "$@"; do
      echo "$name $(cut -d' ' -f1-2 "$RUN/hosts/$h/ssh/ssh_host_${t}_key.pub")"
    done
  done
}

sshd_common() {
  cat <<EOF
ListenAddress 0.0.0.0
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
UsePAM yes
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
PermitEmptyPasswords no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
AllowAgentForwarding yes
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
MaxStartups 200:30:400
MaxSessions 200
MaxAuthTries 10
LoginGraceTime 60
LogLevel VERBOSE
EOF
}

write_ssh() {
  local h d
  host_keys
  {
    for h in "${HOSTS[@]}"; do known_lines "$h" "$h" "$h.$CLUSTER_NAME.cluster" "${IP[$h]}"; done
    known_lines login "$LOGIN_WAN_IP"
  } >"$RUN/etc/ssh_known_hosts"
  for h in "${HOSTS[@]}"; do
    d=$RUN/hosts/$h/ssh
    cp /etc/ssh/ssh_config /etc/ssh/moduli "$d/"
    rm -rf "$d/ssh_config.d"
    cp -r /etc/ssh/ssh_config.d "$d/ssh_config.d"
    cp "$RUN/etc/ssh_known_hosts" "$d/ssh_known_hosts"
    chmod 0644 "$d/ssh_known_hosts"
    if [ "$h" = login ]; then
      {
        echo "# login: password AND TOTP on $SSH_PORT, key on $KEY_PORT (see sshd_config_keytotp for $KEY_TOTP_PORT)"
        echo "Port $SSH_PORT"
        echo "Port $KEY_PORT"
        echo "PidFile /run/sshd.pid"
        sshd_common
        echo "KbdInteractiveAuthentication yes"
        echo "AuthenticationMethods keyboard-interactive"
        echo "Match LocalPort $KEY_PORT"
        echo "  AuthenticationMethods publickey"
      } >"$d/sshd_config"
      {
        echo "# login: key, then a TOTP code (PAM service sshd-keytotp)"
        echo "Port $KEY_TOTP_PORT"
        echo "PidFile /run/sshd-keytotp.pid"
        sshd_common
        echo "KbdInteractiveAuthentication yes"
        echo "AuthenticationMethods publickey,keyboard-interactive"
      } >"$d/sshd_config_keytotp"
    else
      {
        echo "# compute node: key only (the cluster key in the shared home)"
        echo "Port $SSH_PORT"
        echo "PidFile /run/sshd.pid"
        sshd_common
        echo "KbdInteractiveAuthentication no"
        echo "AuthenticationMethods publickey"
      } >"$d/sshd_config"
    fi
  done
  # PAM on login: a copy of /etc/pam.d where sshd asks for the password and then a TOTP code
  local pam=$RUN/hosts/login/pam.d
  grep -q '^@include common-auth' /etc/pam.d/sshd || die "unexpected /etc/pam.d/sshd (no '@include common-auth')"
  rm -rf "$pam"
  cp -a /etc/pam.d "$pam"
  sed -e 's/^@include common-auth$/auth requisite pam_unix.so nodelay\nauth required pam_google_authenticator.so/' \
    /etc/pam.d/sshd >"$pam/sshd"
  sed -e 's/^@include common-auth$/auth required pam_google_authenticator.so/' /etc/pam.d/sshd >"$pam/sshd-keytotp"
  # sshd uses its program name as PAM service name
  ln -sfn /usr/sbin/sshd "$RUN/bin/sshd-keytotp"

  # laptop side
  {
    known_lines login "$LOGIN_WAN_IP" "[$LOGIN_WAN_IP]:$KEY_PORT" "[$LOGIN_WAN_IP]:$KEY_TOTP_PORT" \
      "[$LAPTOP_IP]:$WAN_PORT" "[$LAPTOP_IP]:$WAN_KEY_PORT" "[$LAPTOP_IP]:$WAN_KEY_TOTP_PORT" login
    for h in "${NODES[@]}"; do known_lines "$h" "$h" "${IP[$h]}"; done
  } >"$RUN/known_hosts"
  chmod 0644 "$RUN/known_hosts"
  cat >"$RUN/ssh_config" <<EOF
# tccp test cluster: ssh -F $RUN/ssh_config login|c1|c2|login-mfa|login-keytotp|login-wan|...
# login (key, port $KEY_PORT) is non-interactive; *-mfa needs SSH_ASKPASS=$RUN/bin/askpass
# with SSH_ASKPASS_REQUIRE=force (password + TOTP); *-wan go through the delay proxy.
Host login
  HostName $LOGIN_WAN_IP
  Port $KEY_PORT
Host login-mfa
  HostName $LOGIN_WAN_IP
  Port $SSH_PORT
  PubkeyAuthentication no
  PreferredAuthentications keyboard-interactive
  BatchMode no
Host login-keytotp
  HostName $LOGIN_WAN_IP
  Port $KEY_TOTP_PORT
  BatchMode no
Host login-wan
  HostName $LAPTOP_IP
  Port $WAN_KEY_PORT
Host login-wan-mfa
  HostName $LAPTOP_IP
  Port $WAN_PORT
  PubkeyAuthentication no
  PreferredAuthentications keyboard-interactive
  BatchMode no
Host login-wan-keytotp
  HostName $LAPTOP_IP
  Port $WAN_KEY_TOTP_PORT
  BatchMode no
Host c1 c2
  ProxyJump login
Host c1-wan
  HostName c1
  ProxyJump login-wan
Host c2-wan
  HostName c2
  ProxyJump login-wan
Host *
  User $TUSER
  IdentityFile $SECRETS/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $RUN/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  BatchMode yes
  ConnectTimeout 10
  ServerAliveInterval 15
EOF
}

write_slurm() {
  local d=$RUN/etc/slurm h i
  for h in "${NODES[@]}"; do
    for i in $(seq 0 $((GPUS_PER_NODE - 1))); do
      [ -c "$RUN/hosts/$h/dev/nvidia$i" ] || mknod -m 0666 "$RUN/hosts/$h/dev/nvidia$i" c 195 "$i"
    done
  done
  cat >"$d/slurm.conf" <<EOF
# tccp test cluster (see tests/cluster/cluster.sh)
ClusterName=$CLUSTER_NAME
SlurmctldHost=login(${IP[login]})
SlurmUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
SwitchType=switch/none
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=$RUN/spool/%n
StateSaveLocation=$STATE/slurmctld
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
MailProg=/bin/true
MessageTimeout=10
TCPTimeout=5
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
OverTimeLimit=0
UnkillableStepTimeout=60
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=login
AccountingStorageEnforce=associations
AccountingStorageTRES=gres/gpu,gres/gpu:a100,gres/gpu:t4
JobCompType=jobcomp/none
GresTypes=gpu
NodeName=c1 NodeAddr=${IP[c1]} CPUs=$NODE_CPUS RealMemory=$NODE_MEM Gres=gpu:${GPU[c1]}:$GPUS_PER_NODE State=UNKNOWN
NodeName=c2 NodeAddr=${IP[c2]} CPUs=$NODE_CPUS RealMemory=$NODE_MEM Gres=gpu:${GPU[c2]}:$GPUS_PER_NODE State=UNKNOWN
PartitionName=batch Nodes=c1,c2 Default=YES DefaultTime=01:00:00 MaxTime=2-00:00:00 DefMemPerCPU=500 State=UP
PartitionName=gpu Nodes=c1,c2 DefaultTime=01:00:00 MaxTime=1-00:00:00 DefMemPerCPU=500 State=UP
EOF
  {
    echo "AutoDetect=off"
    for h in "${NODES[@]}"; do
      echo "NodeName=$h Name=gpu Type=${GPU[$h]} File=$RUN/hosts/$h/dev/nvidia[0-$((GPUS_PER_NODE - 1))]"
    done
  } >"$d/gres.conf"
  cat >"$d/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=no
ConstrainDevices=yes
ConstrainRAMSpace=yes
AllowedRAMSpace=100
EOF
  if [ -f /etc/slurm/plugstack.conf ]; then cp /etc/slurm/plugstack.conf "$d/"; fi
  install -d -m 0755 "$d/plugstack.conf.d"
  (
    umask 077
    cat >"$d/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=login
DbdAddr=${IP[login]}
DbdPort=6819
SlurmUser=root
DebugLevel=info
LogFile=$LOGS/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=$(cat "$SECRETS/db.password")
EOF
  )
  chmod 0644 "$d/slurm.conf" "$d/gres.conf" "$d/cgroup.conf"
}

# Local PEP 503 index: wheels built here from tests/cluster/pypkg, plus Debian's pip/setuptools.
build_index() {
  local src=$HERE/pypkg/tccp-demo-extra idx=$RUN/pypi/simple stamp w name
  install -d -m 0755 "$idx"
  stamp=$(cd "$src" && find . -type f -not -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  if [ "$(cat "$RUN/pypi/.stamp" 2>/dev/null)" != "$stamp" ] || ! ls "$idx"/tccp-demo-extra/*.whl >/dev/null 2>&1; then
    rm -rf "$RUN/build"
    mkdir -p "$RUN/build"
    cp -r "$src" "$RUN/build/src"
    rm -rf "$RUN/build/src/build" "$RUN/build/src"/*.egg-info
    env -u PIP_FIND_LINKS PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
      "$PY" -m pip wheel -q --no-deps --no-build-isolation --no-index -w "$RUN/build/wheels" "$RUN/build/src" \
      >"$LOGS/pypi-build.log" 2>&1 || { cat "$LOGS/pypi-build.log" >&2; die "building the tccp-demo-extra wheel failed"; }
    rm -rf "$idx/tccp-demo-extra"
    install -d -m 0755 "$idx/tccp-demo-extra"
    cp "$RUN/build/wheels"/tccp_demo_extra-*.whl "$idx/tccp-demo-extra/"
    rm -rf "$RUN/build"
    echo "$stamp" >"$RUN/pypi/.stamp"
  fi
  for w in /usr/share/python-wheels/pip-*.whl /usr/share/python-wheels/setuptools-*.whl; do
    [ -f "$w" ] || continue
    name=$(basename "$w" | cut -d- -f1)
    install -d -m 0755 "$idx/$name"
    [ -f "$idx/$name/$(basename "$w")" ] || cp "$w" "$idx/$name/"
  done
  chmod -R a+rX "$RUN/pypi"
}

# ---------------------------------------------------------------- daemons

wait_for() {  # wait_for SECONDS DESCRIPTION CMD...
  local limit=$1 what=$2 t0
  shift 2
  t0=$(date +%s)
  until "$@" >/dev/null 2>&1; do
    if [ $(($(date +%s) - t0)) -ge "$limit" ]; then
      warn "timed out after ${limit}s waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

listening() {  # listening HOST PORT...: all ports listen (TCP) on HOST
  local h=$1 out p
  shift
  out=$(x "$h" ss -Hltn 2>/dev/null) || return 1
  for p in "$@"; do grep -qE "[:.]${p}[[:space:]]" <<<"$out" || return 1; done
}

start_munge() {
  local h=$1
  install -m 0640 -o munge -g munge /dev/null "$LOGS/munged-$h.log" 2>/dev/null ||
    chown munge:munge "$LOGS/munged-$h.log"
  xd "$h" runuser -u munge -- /usr/sbin/munged --key-file="$RUN/munge/munge.key" \
    --seed-file="$RUN/munge/seed-$h" --log-file="$LOGS/munged-$h.log"
}

start_sshd() {
  local h=$1
  xd "$h" /usr/sbin/sshd -f /etc/ssh/sshd_config -E "$LOGS/sshd-$h.log"
  if [ "$h" = login ]; then
    xd login "$RUN/bin/sshd-keytotp" -f /etc/ssh/sshd_config_keytotp -E "$LOGS/sshd-login-keytotp.log"
  fi
}

db_sql() { x login mariadb --no-defaults -S /run/mysqld/mysqld.sock -u root "$@"; }

start_db() {
  local db=$RUN/mysql
  if [ ! -d "$db/mysql" ]; then
    rm -rf "$db"
    install -d -o mysql -g mysql -m 0700 "$db"
    x login mariadb-install-db --no-defaults --user=mysql --datadir="$db" \
      --auth-root-authentication-method=socket --skip-test-db >"$LOGS/mariadb-install.log" 2>&1 ||
      { tail -20 "$LOGS/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
  fi
  [ -f "$LOGS/mariadb.log" ] || install -m 0640 -o mysql -g mysql /dev/null "$LOGS/mariadb.log"
  chown mysql:mysql "$LOGS/mariadb.log"
  spawn_on login "$LOGS/mariadb.log" /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$db" \
    --socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/mysqld.pid --skip-networking \
    --log-error="$LOGS/mariadb.log" --innodb-buffer-pool-size=128M --innodb-log-file-size=64M \
    --innodb-lock-wait-timeout=900
}

db_ready() { db_sql -e 'select 1'; }

db_grants() {
  db_sql <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$(cat "$SECRETS/db.password")';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$(cat "$SECRETS/db.password")';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
SQL
}

ctld_up() { x login scontrol ping | grep -q 'is UP'; }

nodes_ready() {
  local out
  out=$(x login sinfo -h -N -p batch -o '%N %t') || return 1
  [ "$(grep -cE '^c[0-9]+ (idle|mix|alloc|comp)$' <<<"$out")" -eq ${#NODES[@]} ]
}

cluster_registered() { x login sacctmgr -n -P list cluster format=Cluster | grep -qx "$CLUSTER_NAME"; }

ensure_assoc() {
  if ! x login sacctmgr -n -P list account "$ACCOUNT" format=Account | grep -qx "$ACCOUNT"; then
    x login sacctmgr -i -Q add account "$ACCOUNT" Description="tccp tests" Organization=tccp >/dev/null
  fi
  if ! x login sacctmgr -n -P list assoc user="$TUSER" account="$ACCOUNT" format=User | grep -qx "$TUSER"; then
    x login sacctmgr -i -Q add user "$TUSER" Account="$ACCOUNT" DefaultAccount="$ACCOUNT" >/dev/null
  fi
}

start_pypi() {
  [ -f "$LOGS/pypi-index.log" ] || install -m 0644 /dev/null "$LOGS/pypi-index.log"
  spawn_on login "$LOGS/pypi-index.log" setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
    "$PY" -m http.server "$PIP_PORT" \
    --bind 0.0.0.0 --directory "$RUN/pypi"
}

# ---------------------------------------------------------------- WAN delay proxy

proxy_pid() {
  local pid
  pid=$(cat "$STATE/proxy.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && grep -qa 'delay-proxy.py' "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

proxy_stop() {
  local pid i
  if pid=$(proxy_pid); then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 50); do
      alive "$pid" || break
      sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$STATE/proxy.pid"
}

current_delay() { cat "$STATE/delay" 2>/dev/null || echo 0; }

proxy_start() {
  local ms=$1 pid
  proxy_stop
  (
    close_fds
    exec setsid "$PY" -u "$HERE/delay-proxy.py" --delay-ms "$ms" \
      --map "$LAPTOP_IP:$WAN_PORT=$LOGIN_WAN_IP:$SSH_PORT" \
      --map "$LAPTOP_IP:$WAN_KEY_PORT=$LOGIN_WAN_IP:$KEY_PORT" \
      --map "$LAPTOP_IP:$WAN_KEY_TOTP_PORT=$LOGIN_WAN_IP:$KEY_TOTP_PORT" \
      </dev/null >>"$LOGS/delay-proxy.log" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$STATE/proxy.pid"
  echo "$ms" >"$STATE/delay"
  wait_for 10 "the delay proxy" proxy_listening || { tail -5 "$LOGS/delay-proxy.log" >&2; return 1; }
}

proxy_listening() {
  local out
  proxy_pid >/dev/null || return 1
  out=$(ss -Hltn "src $LAPTOP_IP" 2>/dev/null) || return 1
  grep -q ":$WAN_PORT " <<<"$out" && grep -q ":$WAN_KEY_PORT " <<<"$out" && grep -q ":$WAN_KEY_TOTP_PORT " <<<"$out"
}

valid_ms() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -le 10000 ]; }

# ---------------------------------------------------------------- connection file

write_env() {
  local tmp=$RUN/cluster.env.tmp home
  home=$(getent passwd "$TUSER" | cut -d: -f6)
  # The askpass program lives with the cluster, not in the checkout that
  # brought it up: another checkout (or a removed one) finds it the same.
  mkdir -p "$RUN/bin"
  install -m 0755 "$HERE/askpass.sh" "$RUN/bin/askpass"
  cat >"$tmp" <<EOF
# tccp test cluster connection details (written by tests/cluster/cluster.sh; shell-sourceable)
TCCP_CLUSTER_RUN=$RUN
TCCP_CLUSTER_NAME=$CLUSTER_NAME
TCCP_CLUSTER_HOST=$LOGIN_WAN_IP
TCCP_CLUSTER_PORT=$SSH_PORT
TCCP_CLUSTER_KEY_PORT=$KEY_PORT
TCCP_CLUSTER_KEY_TOTP_PORT=$KEY_TOTP_PORT
TCCP_CLUSTER_WAN_HOST=$LAPTOP_IP
TCCP_CLUSTER_WAN_PORT=$WAN_PORT
TCCP_CLUSTER_WAN_KEY_PORT=$WAN_KEY_PORT
TCCP_CLUSTER_WAN_KEY_TOTP_PORT=$WAN_KEY_TOTP_PORT
TCCP_WAN_DELAY_MS=$(current_delay)
TCCP_CLUSTER_USER=$TUSER
TCCP_CLUSTER_HOME=$home
TCCP_CLUSTER_PASSWORD_FILE=$SECRETS/password
TCCP_CLUSTER_TOTP_SECRET_FILE=$SECRETS/totp.secret
TCCP_CLUSTER_KEY=$SECRETS/id_ed25519
TCCP_CLUSTER_KNOWN_HOSTS=$RUN/known_hosts
TCCP_CLUSTER_SSH_CONFIG=$RUN/ssh_config
TCCP_CLUSTER_ASKPASS=$RUN/bin/askpass
TCCP_CLUSTER_LOGIN=login
TCCP_CLUSTER_NODES=$(IFS=,; echo "${NODES[*]}")
TCCP_CLUSTER_LOGIN_LAN_IP=${IP[login]}
TCCP_CLUSTER_C1_IP=${IP[c1]}
TCCP_CLUSTER_C2_IP=${IP[c2]}
TCCP_CLUSTER_PARTITIONS=batch,gpu
TCCP_CLUSTER_DEFAULT_PARTITION=batch
TCCP_CLUSTER_GPU_PARTITION=gpu
TCCP_CLUSTER_GRES=c1:gpu:${GPU[c1]}:$GPUS_PER_NODE,c2:gpu:${GPU[c2]}:$GPUS_PER_NODE
TCCP_CLUSTER_ACCOUNT=$ACCOUNT
TCCP_CLUSTER_PYTHON=$PY
TCCP_CLUSTER_PIP_INDEX=http://login:$PIP_PORT/simple/
TCCP_CLUSTER_PIP_TRUSTED_HOST=login
TCCP_CLUSTER_PIP_PACKAGE=tccp-demo-extra
TCCP_CLUSTER_LOGS=$LOGS
TCCP_CLUSTER_CTL_DIR=$RUN/ctl
EOF
  chmod 0644 "$tmp"
  mv -f "$tmp" "$RUN/cluster.env"
}

# ---------------------------------------------------------------- up / down

rotate_logs() {  # keep the previous run's logs in logs/prev
  local f
  install -d -m 0755 "$LOGS"
  rm -rf "$LOGS/prev"
  install -d -m 0755 "$LOGS/prev"
  for f in "$LOGS"/*.log "$LOGS"/daemons.out; do
    [ -e "$f" ] && mv -f "$f" "$LOGS/prev/"
  done
  return 0
}

healthy() {
  local h
  for h in "${HOSTS[@]}"; do holder_pid "$h" >/dev/null || return 1; done
  listening login "$SSH_PORT" "$KEY_PORT" "$KEY_TOTP_PORT" 6817 6819 "$PIP_PORT" || return 1
  for h in "${NODES[@]}"; do listening "$h" "$SSH_PORT" 6818 || return 1; done
  ctld_up || return 1
  [ -s "$RUN/cluster.env" ]
}

any_trace() {  # anything of ours still around?
  local h
  for h in "${HOSTS[@]}" lan; do
    [ -e "/run/netns/$NS_PREFIX$h" ] && return 0
  done
  ip link show "$WAN_IF" >/dev/null 2>&1 && return 0
  proxy_pid >/dev/null && return 0
  return 1
}

up_inner() {
  local t0 h ms
  t0=$(now)
  rotate_logs
  prepare_dirs
  prepare_secrets
  prepare_user
  write_etc_hosts
  write_ssh
  write_slurm
  build_index
  net_up
  for h in "${HOSTS[@]}"; do host_start "$h"; done
  for h in "${HOSTS[@]}"; do start_munge "$h"; done
  for h in "${HOSTS[@]}"; do start_sshd "$h"; done
  start_db
  start_pypi
  wait_for 60 "MariaDB" db_ready
  db_grants
  xd login /usr/sbin/slurmdbd
  wait_for 30 "slurmdbd" listening login 6819
  xd login /usr/sbin/slurmctld -i
  wait_for 30 "slurmctld" ctld_up
  for h in "${NODES[@]}"; do xd "$h" /usr/sbin/slurmd; done
  wait_for 30 "cluster registration in slurmdbd" cluster_registered
  ensure_assoc
  wait_for 60 "c1 and c2 to be idle" nodes_ready
  ms=${TCCP_WAN_DELAY_MS:-$(current_delay)}
  valid_ms "$ms" || die "TCCP_WAN_DELAY_MS must be a whole number of ms (0-10000): $ms"
  proxy_start "$ms"
  wait_for 20 "sshd on every host" healthy_sshd
  write_env
  ssh -F "$RUN/ssh_config" -o ControlPath=none login true ||
    die "key login to login failed (see $LOGS/sshd-login.log)"
  say "tccp cluster up in $(since "$t0") s: login $LOGIN_WAN_IP:$SSH_PORT (password+TOTP), :$KEY_PORT (key), :$KEY_TOTP_PORT (key+TOTP); WAN $LAPTOP_IP:$WAN_PORT/$WAN_KEY_PORT/$WAN_KEY_TOTP_PORT (+$ms ms one-way)"
  say "connection details: $RUN/cluster.env, ssh -F $RUN/ssh_config login|c1|c2"
}

healthy_sshd() {
  listening login "$SSH_PORT" "$KEY_PORT" "$KEY_TOTP_PORT" || return 1
  local h
  for h in "${NODES[@]}"; do listening "$h" "$SSH_PORT" || return 1; done
}

cmd_up() {
  need_root
  check_run_path
  take_lock
  mkdir -p "$LOGS"
  ensure_packages
  if healthy; then
    local ms=${TCCP_WAN_DELAY_MS:-$(current_delay)}
    valid_ms "$ms" || die "TCCP_WAN_DELAY_MS must be a whole number of ms (0-10000): $ms"
    if ! proxy_listening || [ "$ms" != "$(current_delay)" ]; then proxy_start "$ms"; fi
    write_env
    say "tccp cluster already up (ssh -F $RUN/ssh_config login)"
    return 0
  fi
  if any_trace; then
    say "tccp cluster partly up: cleaning it first"
    teardown
  fi
  if ! "$SELF" __up_inner; then
    warn "bring-up failed; last log lines:"
    show_logs 15 >&2 || true
    teardown || true
    exit 1
  fi
}

# Stop a daemon on HOST through the pid file it wrote inside HOST (PIDs are per host).
stop_on() {
  local h=$1 pidfile=$2 limit=${3:-15}
  holder_pid "$h" >/dev/null || return 0
  # shellcheck disable=SC2016  # expanded by the inner shell
  x "$h" /bin/sh -c '
    [ -f "$1" ] || exit 0
    p=$(cat "$1") || exit 0
    kill "$p" 2>/dev/null || exit 0
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$p" 2>/dev/null || true' sh "$pidfile" "$limit" || true
}

netns_pids() {  # root-ns PIDs of every process inside one of our network namespaces
  local inodes="" h f ino
  for h in "${HOSTS[@]}" lan; do
    ino=$(ns_inode "/run/netns/$NS_PREFIX$h") && inodes="$inodes net:[$ino]"
  done
  [ -n "$inodes" ] || return 0
  for f in /proc/[0-9]*/ns/net; do
    ino=$(readlink "$f" 2>/dev/null) || continue
    case " $inodes " in *" $ino "*)
      f=${f#/proc/}
      echo "${f%%/*}"
      ;;
    esac
  done
}

alive() { [ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

teardown() {
  local h pid i s pids
  # jobs end as CANCELLED in accounting; daemons stop cleanly (state, InnoDB)
  if holder_pid login >/dev/null && ctld_up 2>/dev/null; then
    # shellcheck disable=SC2016  # expanded by the inner shell
    x login /bin/sh -c 'ids=$(squeue -h -o %A); [ -z "$ids" ] || scancel $ids' >/dev/null 2>&1 || true
    for i in $(seq 50); do
      [ -z "$(x login squeue -h -o %A 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  for h in "${NODES[@]}"; do stop_on "$h" /run/slurmd.pid 10; done
  stop_on login /run/slurmctld.pid 15
  stop_on login /run/slurmdbd.pid 15
  stop_on login /run/mysqld/mysqld.pid 30
  proxy_stop
  # ssh connection multiplexers from tests (ControlPath in $RUN/ctl)
  for s in "$RUN"/ctl/*; do
    if [ -S "$s" ]; then ssh -o ControlPath="$s" -O exit dummy >/dev/null 2>&1 || true; fi
    rm -f "$s"
  done
  # PID 1 of each host: killing it ends everything left on that host
  for h in "${HOSTS[@]}"; do
    if pid=$(holder_pid "$h"); then kill -9 "$pid" 2>/dev/null || true; fi
  done
  # anything still inside our network namespaces (e.g. a process entered with nsenter --net)
  pids=$(netns_pids)
  for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
  for i in $(seq 100); do
    s=0
    for pid in $pids $(cat "$STATE"/holder-*.pid "$STATE"/holder-*.ppid 2>/dev/null); do
      alive "$pid" && s=1
    done
    [ "$s" = 0 ] && break
    sleep 0.05
    pids=$(netns_pids)
  done
  rm -f "$STATE"/holder-*.pid "$STATE"/holder-*.ppid
  for h in "${HOSTS[@]}" lan; do
    if [ -e "/run/netns/$NS_PREFIX$h" ]; then ip netns del "$NS_PREFIX$h" 2>/dev/null || true; fi
  done
  if ip link show "$WAN_IF" >/dev/null 2>&1; then ip link del "$WAN_IF" 2>/dev/null || true; fi
  if [ -f "$STATE/netns-mount-created" ]; then
    if mountpoint -q /run/netns && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
      umount /run/netns 2>/dev/null || true
      if [ -f "$STATE/netns-dir-created" ]; then rmdir /run/netns 2>/dev/null || true; fi
    fi
    rm -f "$STATE/netns-mount-created" "$STATE/netns-dir-created"
  fi
  # cgroups made by slurmd for c1/c2 (empty once their processes are gone)
  for h in "${NODES[@]}"; do
    for s in /sys/fs/cgroup/*/slurm_"$h"; do
      if [ -d "$s" ]; then find "$s" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
    done
  done
}

cmd_down() {
  need_root
  check_run_path
  [ -d "$RUN" ] || { say "tccp cluster is down"; return 0; }
  take_lock
  local t0
  t0=$(now)
  teardown
  if any_trace; then die "some cluster resources are still present (cluster.sh status)"; fi
  say "tccp cluster down in $(since "$t0") s"
}

cmd_purge() {
  need_root
  check_run_path
  cmd_down
  rm -rf "$RUN"
  if id "$TUSER" >/dev/null 2>&1; then userdel -r "$TUSER" >/dev/null 2>&1 || userdel "$TUSER" || true; fi
  say "removed $RUN and user $TUSER"
}

# ---------------------------------------------------------------- status / logs / misc

cmd_status() {
  local h pid daemons rc=0
  say "tccp cluster (run dir $RUN)"
  for h in "${HOSTS[@]}"; do
    if pid=$(holder_pid "$h"); then
      daemons=$(x "$h" ps -eo comm= | grep -vxE 'tini|sleep|ps|env' | sort | uniq -c | awk '{printf "%s%s ", $2, ($1 > 1 ? "x" $1 : "")}')
      printf '  %-6s up    %-11s pid %-7s %s\n' "$h" "${IP[$h]}" "$pid" "$daemons"
    else
      printf '  %-6s down\n' "$h"
      rc=3
    fi
  done
  if pid=$(proxy_pid); then
    printf '  wan    %s:%s,%s,%s -> %s:%s,%s,%s  delay %s ms one-way (pid %s)\n' "$LAPTOP_IP" "$WAN_PORT" "$WAN_KEY_PORT" \
      "$WAN_KEY_TOTP_PORT" "$LOGIN_WAN_IP" "$SSH_PORT" "$KEY_PORT" "$KEY_TOTP_PORT" "$(current_delay)" "$pid"
  else
    say "  wan    delay proxy not running"
    rc=3
  fi
  if [ "$rc" = 0 ]; then
    if x login nft list table inet tccp_wan >/dev/null 2>&1; then say "  wan    CUT (cluster.sh wan restore)"; fi
    say ""
    x login sinfo -o '%10P %.5a %.12l %.6D %.8t %20G %N' || rc=3
    say ""
    x login sinfo -N -p batch -O 'NodeList:9,StateLong:10,CPUsState:16,Memory:8,AllocMem:10,Gres:14,GresUsed:40' || true
    say ""
    say "jobs queued/running: $(x login squeue -h -o %A 2>/dev/null | wc -l)"
    say "connection details: $RUN/cluster.env"
  else
    say "cluster is not (fully) up"
  fi
  return "$rc"
}

show_logs() {
  local n=${1:-40} f
  [ -d "$LOGS" ] || { say "no logs in $LOGS"; return 0; }
  for f in "$LOGS"/*.log "$LOGS"/daemons.out; do
    [ -s "$f" ] || continue
    say "==> $f <=="
    tail -n "$n" "$f"
    say ""
  done
}

cmd_delay() {
  local ms=${1:-}
  valid_ms "$ms" || die "usage: cluster.sh delay MS   (one-way delay in ms, 0-10000)"
  need_root
  check_run_path
  take_lock
  if healthy; then
    proxy_start "$ms"
    write_env
    say "WAN delay now $ms ms one-way (~$((2 * ms)) ms added round trip) on $LAPTOP_IP:$WAN_PORT,$WAN_KEY_PORT,$WAN_KEY_TOTP_PORT"
  else
    mkdir -p "$STATE"
    echo "$ms" >"$STATE/delay"
    say "cluster is not up; the next 'up' uses $ms ms (unless TCCP_WAN_DELAY_MS is set)"
  fi
}

# Cut or restore the laptop<->login link (both directions) with nftables inside login.
cmd_wan() {
  need_root
  holder_pid login >/dev/null || die "cluster is not up"
  case ${1:-} in
    cut)
      x login nft -f - <<'EOF'
table inet tccp_wan {
  chain in { type filter hook input priority 0; policy accept; iifname "wan0" drop; }
  chain out { type filter hook output priority 0; policy accept; oifname "wan0" drop; }
}
EOF
      say "WAN link cut (laptop <-> login); cluster.sh wan restore to heal"
      ;;
    restore)
      x login nft delete table inet tccp_wan 2>/dev/null || true
      say "WAN link restored"
      ;;
    *) die "usage: cluster.sh wan cut|restore" ;;
  esac
}

usage() {
  cat <<EOF
usage: cluster.sh COMMAND
  up               bring the cluster up (installs missing Debian packages; idempotent)
  down             stop everything, remove namespaces, links and mounts (keeps $RUN)
  status           hosts, daemons, WAN proxy, sinfo (rc 3 when not up)
  check            quiet health check (rc 0 when up)
  x HOST CMD...    run CMD as root on HOST (login, c1, c2)
  xu HOST CMD...   run CMD as $TUSER on HOST, from its home directory
  delay MS         one-way laptop<->login delay through the proxy (restarts only the proxy)
  wan cut|restore  cut / restore the laptop<->login link
  logs [LINES]     tail every daemon log
  env              print cluster.env
  purge            down, then remove $RUN and the test user
EOF
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    up) cmd_up ;;
    __up_inner) up_inner ;;
    down) cmd_down ;;
    status) cmd_status ;;
    check)
      need_root
      healthy
      ;;
    x)
      [ $# -ge 2 ] || die "usage: cluster.sh x HOST CMD..."
      need_root
      x "$@"
      ;;
    xu)
      [ $# -ge 2 ] || die "usage: cluster.sh xu HOST CMD..."
      need_root
      xu "$@"
      ;;
    delay) cmd_delay "$@" ;;
    wan) cmd_wan "$@" ;;
    logs) show_logs "$@" ;;
    env) cat "$RUN/cluster.env" ;;
    purge) cmd_purge ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
