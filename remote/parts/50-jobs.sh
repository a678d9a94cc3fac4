
# --- jobs: allocations, runs, status, logs ----------------------------------
#
# Layout under the root:
#   allocs/<slurm id>/        one per holder: runs/<run id> (runs using it),
#                             activity (epoch of the last use), closing, lock/
#   allocs/<slurm id>.log     the holder's own output
#   projects/<p>/tree/        the synced mirror
#   projects/<p>/runs/<id>/   snapshot + tccp.log, init.log, status, .tccp/
#   projects/<p>/runs/.latest, .latest-<job>   the newest run id
#   venvs/<key>/              shared virtual environments (+ <key>.lock/)
# Node-local: /tmp/tccp-<user>/{cache/<p>,sock/<run id>}.
#
# The squeue format is the one lib/tccp/slurm/squeue.hpp parses.
TCCP_SQUEUE_JOB_FORMAT='%i|%T|%N|%P|%b|%m|%C|%L|%l|%M|%S|%V|%r|%j'
TCCP_SQUEUE_STEP_FORMAT='%i|%N|%M|%j'
TCCP_SACCT_FORMAT='JobID,State,ExitCode,Start,End,NodeList'
# Exit status of a helper command that found its allocation gone.
TCCP_EXIT_ALLOC_GONE=75
# Exit status of run_start when what the client believed no longer holds
# (the tree is not the one it pushed; an allocation taken on trust is gone,
# busy or short of time). Nothing was started or left behind.
TCCP_EXIT_STALE=76

# SLURM prints local times; tccp reads them as UTC.
TZ=UTC
export TZ

now_epoch() { date +%s; }
now_utc() { date -u +%Y-%m-%dT%H:%M:%SZ; }
now_precise() { date +%s.%N; }
# elapsed START: seconds since START (from now_precise), two decimals.
elapsed_since() { awk -v a="$1" -v b="$(now_precise)" 'BEGIN { printf "%.2f", b - a }'; }
one_line() { printf '%s' "$*" | tr '\n\r|' '   '; }

# jobs_setup: makes TCCP_ROOT absolute and finds this helper's own path.
jobs_setup() {
    mkdir -p "$TCCP_ROOT" || die "cannot create the tccp root '$TCCP_ROOT'"
    TCCP_ROOT=$(cd "$TCCP_ROOT" && pwd) || die "cannot enter '$TCCP_ROOT'"
    case $0 in
        /*) TCCP_SELF=$0 ;;
        *) TCCP_SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0") ;;
    esac
    TCCP_USER=$(id -un)
    TCCP_NODE_DIR=/tmp/tccp-$TCCP_USER
}

# check_name WHAT NAME: project, job and run names become path components.
check_name() {
    case $2 in
        '' | .* | */* | *"
"*) usage_die "invalid $1 name '$2'" ;;
    esac
}

# --- locks: atomic mkdir with an owner file and stale detection -------------

# lock_take DIR STALE_S WAIT_S: takes the lock or fails after WAIT_S. A lock
# whose owner did not refresh it for STALE_S, or whose owner process on this
# host is gone, is stale and broken.
lock_take() {
    _dir=$1
    _stale=$2
    _deadline=$(($(now_epoch) + $3))
    _host=$(hostname)
    while :; do
        if mkdir "$_dir" 2>/dev/null; then
            printf '%s %s %s\n' "$_host" "$$" "$(now_epoch)" >"$_dir/owner"
            return 0
        fi
        _ohost=
        _opid=
        _otime=
        read -r _ohost _opid _otime <"$_dir/owner" 2>/dev/null
        if [ -n "$_otime" ]; then
            if { [ "$_ohost" = "$_host" ] && ! kill -0 "$_opid" 2>/dev/null; } ||
                [ $(($(now_epoch) - _otime)) -gt "$_stale" ]; then
                rm -rf "$_dir"
                continue
            fi
        elif [ -d "$_dir" ] && [ -n "$(find "$_dir" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then
            rm -rf "$_dir" # created but never owned: its taker died at once
            continue
        fi
        [ "$(now_epoch)" -lt "$_deadline" ] || return 1
        sleep 0.05
    done
}

# lock_refresh DIR: the owner says it is still alive.
lock_refresh() {
    printf '%s %s %s\n' "$(hostname)" "$$" "$(now_epoch)" >"$1/owner.tmp" &&
        mv -f "$1/owner.tmp" "$1/owner"
}

lock_drop() { rm -rf "$1"; }

# --- status files -----------------------------------------------------------

# status_set RUNDIR KEY=VALUE...: replaces those keys, atomically.
status_set() {
    _f=$1/status
    shift
    _tmp=$_f.tmp.$$
    {
        if [ -f "$_f" ]; then
            while IFS= read -r _line; do
                _keep=1
                for _kv in "$@"; do
                    [ "${_kv%%=*}" = "${_line%%=*}" ] && _keep=0
                done
                [ $_keep = 1 ] && printf '%s\n' "$_line"
            done <"$_f"
        fi
        for _kv in "$@"; do
            printf '%s\n' "$_kv"
        done
    } >"$_tmp" && mv -f "$_tmp" "$_f"
}

# status_get RUNDIR KEY: the value, or nothing.
status_get() {
    sed -n "s/^$2=//p" "$1/status" 2>/dev/null | tail -n 1
}

is_terminal_state() {
    case $1 in
        finished | failed | cancelled | lost | timeout) return 0 ;;
        *) return 1 ;;
    esac
}

# --- resolving runs ---------------------------------------------------------

runs_dir() { printf '%s/projects/%s/runs' "$TCCP_ROOT" "$1"; }

# resolve_run PROJECT SELECTOR: sets RUN_ID and RUN_DIR. SELECTOR is a run id,
# a job name (its newest run) or empty (the project's newest run).
resolve_run() {
    check_name project "$1"
    _runs=$(runs_dir "$1")
    RUN_ID=
    if [ -z "$2" ]; then
        RUN_ID=$(cat "$_runs/.latest" 2>/dev/null) ||
            die "no run of project '$1' on the cluster yet"
    else
        check_name job "$2"
        if [ -f "$_runs/$2/status" ]; then
            RUN_ID=$2
        else
            RUN_ID=$(cat "$_runs/.latest-$2" 2>/dev/null) ||
                die "no run of job '$2' in project '$1' on the cluster"
        fi
    fi
    RUN_DIR=$_runs/$RUN_ID
    [ -f "$RUN_DIR/status" ] || die "run '$RUN_ID' has no status on the cluster"
}

# print_status RUNDIR: the status as "s|key=value" lines.
print_status() {
    sed 's/^/s|/' "$1/status" 2>/dev/null
}

# --- allocations ------------------------------------------------------------

alloc_dir() { printf '%s/allocs/%s' "$TCCP_ROOT" "$1"; }

# squeue_jobs ARGS...: the user's jobs in the tccp format.
squeue_jobs() {
    squeue -h --me -o "$TCCP_SQUEUE_JOB_FORMAT" "$@"
}

# name_in_scope NAME SCOPE: SCOPE is a project or '*' (every tccp project).
name_in_scope() {
    case $1 in
        tccp:*) ;;
        *) return 1 ;;
    esac
    [ "$2" = '*' ] || [ "$1" = "tccp:$2" ]
}

# alloc_runs ID: the active runs registered on an allocation, as
# "busy|ID|RUN_ID|STATE" lines; stale registrations are dropped.
alloc_runs() {
    _ad=$(alloc_dir "$1")
    for _reg in "$_ad"/runs/*; do
        [ -f "$_reg" ] || continue
        _rd=$(sed -n 1p "$_reg")
        _st=$(status_get "$_rd" state)
        if [ -n "$_st" ] && ! is_terminal_state "$_st"; then
            printf 'busy|%s|%s|%s\n' "$1" "$(basename "$_reg")" "$_st"
        fi
    done
}

# cmd_alloc_list SCOPE: the tccp allocations of SCOPE (a project, or '*')
# with the runs using them (one squeue), and the partitions' time limits
# ("part|NAME[*]|MAXTIME", one sinfo).
cmd_alloc_list() {
    [ $# -eq 1 ] || usage_die "usage: alloc_list PROJECT|'*'"
    jobs_setup
    printf 'now|%s\n' "$(now_epoch)"
    sinfo -h -o '%P|%l' 2>/dev/null | sort -u | sed 's/^/part|/'
    _out=$(squeue_jobs 2>&1) || die "squeue failed: $(one_line "$_out")"
    printf '%s\n' "$_out" | while IFS= read -r _line; do
        [ -n "$_line" ] || continue
        _name=${_line##*|}
        name_in_scope "$_name" "$1" || continue
        printf 'alloc|%s\n' "$_line"
        alloc_runs "${_line%%|*}"
    done
}

# wait_for_alloc ID HOPELESS: follows a pending allocation until it runs with a node
# ("alloc|<squeue line>", exit 0) or ends ("gone|STATE|REASON", exit 1).
# While waiting, prints "wait|ELAPSED_S|STATE|REASON" about every second; when
# nobody reads any more (the client went away), a pending holder is cancelled.
# A pending reason among HOPELESS (comma-separated) cancels it too.
wait_for_alloc() {
    _id=$1
    _hopeless=,${2:-},
    _start=$(now_epoch)
    _last=
    _ticks=0
    trap 'scancel "$_id" 2>/dev/null; exit 130' HUP PIPE INT TERM
    while :; do
        _line=$(squeue_jobs -t all -j "$_id" 2>/dev/null | sed -n 1p)
        if [ -z "$_line" ]; then
            _acct=$(sacct -X -n -P -j "$_id" -o State 2>/dev/null | sed -n 1p)
            trap - HUP PIPE INT TERM
            printf 'gone|%s|%s\n' "${_acct:-UNKNOWN}" "no longer known to squeue"
            return 1
        fi
        _state=$(printf '%s' "$_line" | cut -d'|' -f2)
        _node=$(printf '%s' "$_line" | cut -d'|' -f3)
        _reason=$(printf '%s' "$_line" | cut -d'|' -f13)
        case $_state in
            RUNNING)
                if [ -n "$_node" ]; then
                    trap - HUP PIPE INT TERM
                    printf 'alloc|%s\n' "$_line"
                    return 0
                fi
                ;;
            PENDING)
                case $_hopeless in
                    *",$_reason,"*)
                        scancel "$_id" 2>/dev/null
                        trap - HUP PIPE INT TERM
                        printf 'gone|%s|%s\n' "$_state" "$_reason"
                        return 1
                        ;;
                esac
                ;;
            CONFIGURING | REQUEUED | RESIZING | SUSPENDED) ;;
            *)
                trap - HUP PIPE INT TERM
                printf 'gone|%s|%s\n' "$_state" "$_reason"
                return 1
                ;;
        esac
        _ticks=$((_ticks + 1))
        if [ "$_state|$_reason" != "$_last" ] || [ $((_ticks % 5)) -eq 0 ]; then
            printf 'wait|%s|%s|%s\n' "$(($(now_epoch) - _start))" "$_state" "$_reason"
            _last="$_state|$_reason"
        fi
        if [ $_ticks -lt 20 ]; then sleep 0.1; else sleep 0.2; fi
    done
}

# cmd_alloc_submit IDLE_S HOPELESS SBATCH_OPTION...: submits a holder (this script,
# command `holder`), prints "submitted|ID", then waits like wait_for_alloc.
# A refused submission prints sbatch's words on stderr and exits 7.
cmd_alloc_submit() {
    [ $# -ge 2 ] || usage_die "usage: alloc_submit IDLE_S HOPELESS SBATCH_OPTION..."
    jobs_setup
    _idle=$1
    _hopeless_list=$2
    shift 2
    mkdir -p "$TCCP_ROOT/allocs"
    _err=$TCCP_ROOT/allocs/.sbatch.$$.err
    _out=$(sbatch "$@" --chdir="$TCCP_ROOT/allocs" --output="$TCCP_ROOT/allocs/%j.log" \
        "$TCCP_SELF" "$TCCP_ROOT" holder "$_idle" 2>"$_err")
    _rc=$?
    if [ $_rc -ne 0 ]; then
        cat "$_err" >&2
        rm -f "$_err"
        exit 7
    fi
    rm -f "$_err"
    _id=${_out%%;*}
    case $_id in
        '' | *[!0-9]*) die "sbatch printed no job id: $(one_line "$_out")" ;;
    esac
    mkdir -p "$(alloc_dir "$_id")/runs"
    now_epoch >"$(alloc_dir "$_id")/activity"
    printf 'submitted|%s\n' "$_id"
    wait_for_alloc "$_id" "$_hopeless_list"
}

# cmd_alloc_wait ID HOPELESS: waits for an already submitted holder.
cmd_alloc_wait() {
    [ $# -eq 2 ] || usage_die "usage: alloc_wait ID HOPELESS"
    jobs_setup
    wait_for_alloc "$1" "$2"
}

# cmd_alloc_release SCOPE MODE [ID...]: releases tccp allocations. MODE idle:
# every idle one of SCOPE; ids: the given ones; all: every one of SCOPE.
# Only jobs named tccp:<SCOPE> (or tccp:* for SCOPE '*') are ever cancelled.
# Runs on a released allocation are marked cancelled first. Prints
# "released|ID" or "kept|ID|REASON" lines.
cmd_alloc_release() {
    [ $# -ge 2 ] || usage_die "usage: alloc_release PROJECT|'*' idle|all|ids [ID...]"
    jobs_setup
    _scope=$1
    _mode=$2
    shift 2
    _list=$(squeue_jobs 2>&1) || die "squeue failed: $(one_line "$_list")"
    _want=" $* "
    _found=
    while IFS= read -r _line; do
        [ -n "$_line" ] || continue
        _id=${_line%%|*}
        _name=${_line##*|}
        if [ "$_mode" = ids ]; then
            case $_want in *" $_id "*) ;; *) continue ;; esac
            _found="$_found $_id "
            if ! name_in_scope "$_name" "$_scope"; then
                printf 'kept|%s|it is not a tccp allocation of this project (%s)\n' "$_id" "$_name"
                continue
            fi
        else
            name_in_scope "$_name" "$_scope" || continue
        fi
        _ad=$(alloc_dir "$_id")
        mkdir -p "$_ad/runs"
        if ! lock_take "$_ad/lock" 30 10; then
            printf 'kept|%s|its lock is held\n' "$_id"
            continue
        fi
        if [ "$_mode" = idle ] && [ -n "$(alloc_runs "$_id")" ]; then
            lock_drop "$_ad/lock"
            continue
        fi
        : >"$_ad/closing"
        for _reg in "$_ad"/runs/*; do
            [ -f "$_reg" ] || continue
            _rd=$(sed -n 1p "$_reg")
            [ -d "$_rd/.tccp" ] && printf 'allocation released\n' >"$_rd/.tccp/cancelled"
        done
        lock_drop "$_ad/lock"
        scancel "$_id" 2>/dev/null
        printf 'released|%s\n' "$_id"
    done <<EOF
$_list
EOF
    if [ "$_mode" = ids ]; then
        for _id in "$@"; do
            case $_found in *" $_id "*) ;; *) printf 'kept|%s|no such job of yours in squeue\n' "$_id" ;; esac
        done
    fi
}

# cmd_holder IDLE_S: the body of an allocation (the batch script). Stays
# while runs use the allocation; exits after IDLE_S seconds without any.
cmd_holder() {
    jobs_setup
    _idle=${1:-1800}
    _id=${SLURM_JOB_ID:?holder runs as a SLURM batch job}
    _ad=$(alloc_dir "$_id")
    mkdir -p "$_ad/runs"
    [ -f "$_ad/activity" ] || now_epoch >"$_ad/activity"
    printf 'tccp holder %s on %s, idle timeout %ss\n' "$_id" "$(hostname)" "$_idle"
    _interval=$((_idle / 10))
    [ $_interval -ge 1 ] || _interval=1
    [ $_interval -le 30 ] || _interval=30
    trap 'exit 0' TERM INT HUP
    while :; do
        sleep "$_interval" &
        wait $!
        lock_take "$_ad/lock" 30 20 || continue
        _busy=
        for _reg in "$_ad"/runs/*; do
            [ -f "$_reg" ] || continue
            _rd=$(sed -n 1p "$_reg")
            _since=$(sed -n 2p "$_reg")
            _st=$(status_get "$_rd" state)
            _pid=$(status_get "$_rd" pid)
            if [ -z "$_st" ] || is_terminal_state "$_st"; then
                rm -f "$_reg"
            elif [ -n "$_pid" ] && ! kill -0 "$_pid" 2>/dev/null; then
                rm -f "$_reg" # its runner is gone without a word
            elif [ -z "$_pid" ] && [ $(($(now_epoch) - ${_since:-0})) -gt 300 ]; then
                rm -f "$_reg" # never started
            else
                _busy=1
            fi
        done
        if [ -n "$_busy" ]; then
            now_epoch >"$_ad/activity"
        else
            _last=$(cat "$_ad/activity" 2>/dev/null) || _last=0
            if [ $(($(now_epoch) - ${_last:-0})) -ge "$_idle" ]; then
                : >"$_ad/closing"
                lock_drop "$_ad/lock"
                printf 'tccp holder %s: idle for %ss, releasing the node\n' "$_id" "$_idle"
                exit 0
            fi
        fi
        lock_drop "$_ad/lock"
    done
}

# --- starting a run ---------------------------------------------------------

# spec_reset: every variable a run spec may set, empty, so that a spec from
# an older tccp still runs under `set -u`.
spec_reset() {
    spec_project='' spec_job='' spec_run_id='' spec_alloc='' spec_node='' spec_type=''
    spec_script='' spec_package='' spec_args='' spec_extra_args='' spec_env_file=''
    spec_output='' spec_cache='' spec_time_limit='' spec_time_limit_s='' spec_python=''
    spec_pip_index='' spec_system_site_packages='' spec_runtime='' spec_code_digest=''
    spec_alloc_check=''
}

# slurm_seconds TEXT: the seconds of a SLURM time ("[D-]HH:MM:SS", "MM:SS",
# "D-HH"), "inf" for UNLIMITED, nothing when it is not a time.
slurm_seconds() {
    case $1 in
        UNLIMITED | INFINITE) echo inf ;;
        *)
            printf '%s\n' "$1" | awk '
                !/^([0-9]+-)?[0-9]+(:[0-9]+)?(:[0-9]+)?$/ { exit }
                {
                    d = 0; t = $0; dash = index(t, "-")
                    if (dash) { d = substr(t, 1, dash - 1); t = substr(t, dash + 1) }
                    n = split(t, p, ":")
                    if (dash) { h = p[1]; m = (n >= 2) ? p[2] : 0; s = (n >= 3) ? p[3] : 0 }
                    else if (n == 3) { h = p[1]; m = p[2]; s = p[3] }
                    else if (n == 2) { h = 0; m = p[1]; s = p[2] }
                    else { h = 0; m = p[1]; s = 0 }
                    printf "%d\n", ((d * 24 + h) * 60 + m) * 60 + s
                }'
            ;;
    esac
}

# stale MESSAGE: run_start's answer when a belief of the client is wrong.
stale() {
    printf 'tccp-remote: error: %s\n' "$*" >&2
    exit $TCCP_EXIT_STALE
}

# check_alloc_trusted: the allocation the client took on trust (without
# asking SLURM) is this project's, running, and has the run's time left.
check_alloc_trusted() {
    _line=$(squeue_jobs -j "$spec_alloc" 2>/dev/null | head -n 1)
    [ -n "$_line" ] || stale "allocation $spec_alloc is gone"
    _state=$(printf '%s\n' "$_line" | cut -d'|' -f2)
    _left=$(printf '%s\n' "$_line" | cut -d'|' -f8)
    [ "${_line##*|}" = "tccp:$spec_project" ] || stale "job $spec_alloc is not an allocation of $spec_project"
    [ "$_state" = RUNNING ] || stale "allocation $spec_alloc is $_state"
    _left_s=$(slurm_seconds "$_left")
    case $_left_s in
        inf) ;;
        '') stale "allocation $spec_alloc has no time left SLURM can tell ($_left)" ;;
        *) [ "$_left_s" -ge "${spec_time_limit_s:-0}" ] || stale "allocation $spec_alloc has $_left left" ;;
    esac
}

# tccp_export_environment: replaced by the spec's own.
tccp_export_environment() { :; }

# snapshot_tree PROJECT RUNDIR: an immutable copy of the synced tree made of
# hard links, taken under sync's lock so it never sees a push half applied.
snapshot_tree() {
    sync_snapshot_tree "$1" "$2"
}

# cmd_run_start: starts a run described by the spec on stdin (shell
# assignments written by tccp-launch: spec_project, spec_job, spec_run_id,
# spec_alloc, ...). Returns as soon as the SLURM step runs, printing
# "s|key=value" status lines. Exit 75 when the allocation is gone; 76 when
# the tree is not the one of spec_code_digest, or when an allocation taken on
# trust (spec_alloc_check=1: checked here, in the same round trip) is gone,
# busy or short of time; the client then asks again and retries.
cmd_run_start() {
    jobs_setup
    _spec=$(cat) || die "cannot read the run spec"
    spec_reset
    eval "$_spec" || die "bad run spec"
    check_name project "$spec_project"
    check_name job "$spec_job"
    check_name run "$spec_run_id"
    [ "$spec_alloc_check" != 1 ] || check_alloc_trusted
    _runs=$(runs_dir "$spec_project")
    RUN_DIR=$_runs/$spec_run_id
    mkdir -p "$_runs" || die "cannot create $_runs"
    [ ! -e "$RUN_DIR" ] || die "run '$spec_run_id' exists already"
    if [ -n "$spec_code_digest" ] && [ ! -f "$TCCP_ROOT/projects/$spec_project/digest" ]; then
        stale "the project's tree is not on the cluster (any more)"
    fi
    snapshot_tree "$spec_project" "$RUN_DIR"
    if [ -n "$spec_code_digest" ] && [ "$SYNC_SNAPSHOT_DIGEST" != "$spec_code_digest" ]; then
        rm -rf "$RUN_DIR"
        stale "the project's tree on the cluster is not the one pushed from here"
    fi
    mkdir -p "$RUN_DIR/.tccp"
    printf '%s\n' "$_spec" >"$RUN_DIR/.tccp/spec"
    : >"$RUN_DIR/tccp.log"
    : >"$RUN_DIR/init.log"
    status_set "$RUN_DIR" "run_id=$spec_run_id" "project=$spec_project" "job=$spec_job" \
        "state=initializing" "created_at=$(now_utc)" "alloc_id=$spec_alloc" \
        "node=$spec_node" "code_digest=$spec_code_digest" "run_dir=$RUN_DIR" \
        "time_limit_s=$spec_time_limit_s" "extra_args=$(one_line "$spec_extra_args")"

    # Register on the allocation, unless its holder is closing (or, taken
    # on trust, it turns out busy: the client then asks SLURM).
    _ad=$(alloc_dir "$spec_alloc")
    mkdir -p "$_ad/runs"
    lock_take "$_ad/lock" 30 10 || die "allocation $spec_alloc is locked"
    if [ "$spec_alloc_check" = 1 ] && { [ -e "$_ad/closing" ] || [ -n "$(alloc_runs "$spec_alloc")" ]; }; then
        lock_drop "$_ad/lock"
        rm -rf "$RUN_DIR"
        stale "allocation $spec_alloc is in use or closing"
    fi
    if [ -e "$_ad/closing" ]; then
        lock_drop "$_ad/lock"
        status_set "$RUN_DIR" state=lost "ended_at=$(now_utc)" \
            "reason=allocation $spec_alloc was released before the run started"
        printf 'tccp-remote: error: allocation %s is being released\n' "$spec_alloc" >&2
        exit $TCCP_EXIT_ALLOC_GONE
    fi
    printf '%s\n%s\n' "$RUN_DIR" "$(now_epoch)" >"$_ad/runs/$spec_run_id"
    now_epoch >"$_ad/activity"
    lock_drop "$_ad/lock"
    printf '%s\n' "$spec_run_id" >"$_runs/.latest.tmp.$$" && mv -f "$_runs/.latest.tmp.$$" "$_runs/.latest"
    printf '%s\n' "$spec_run_id" >"$_runs/.latest-$spec_job.tmp.$$" &&
        mv -f "$_runs/.latest-$spec_job.tmp.$$" "$_runs/.latest-$spec_job"

    # One step whose task (run_step) stays in the foreground of srun, which
    # itself stays in the background here on the login node.
    _time=
    [ -n "$spec_time_limit" ] && _time=--time=$spec_time_limit
    setsid nohup srun --jobid="$spec_alloc" --overlap --nodes=1 --ntasks=1 \
        --job-name="$spec_run_id" ${_time:+"$_time"} \
        "$TCCP_SELF" "$TCCP_ROOT" run_step "$RUN_DIR" \
        </dev/null >"$RUN_DIR/.tccp/srun.out" 2>>"$RUN_DIR/.tccp/srun.log" \
        3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    _srun=$!
    status_set "$RUN_DIR" "srun_pid=$_srun" "srun_host=$(hostname)"

    # Wait until the runner reports its step (or srun fails).
    _n=0
    while :; do
        _step=$(status_get "$RUN_DIR" step_id)
        [ -n "$_step" ] && break
        if ! kill -0 "$_srun" 2>/dev/null; then
            _step=$(status_get "$RUN_DIR" step_id)
            [ -n "$_step" ] && break
            _why=$(grep -v '^$' "$RUN_DIR/.tccp/srun.log" 2>/dev/null | tail -n 3)
            rm -f "$_ad/runs/$spec_run_id"
            case $_why in
                *"Invalid job id"* | *"expired"* | *"Job has already completed"* | *"does not exist"*)
                    status_set "$RUN_DIR" state=lost "ended_at=$(now_utc)" \
                        "reason=allocation $spec_alloc is gone"
                    printf 'tccp-remote: error: allocation %s is gone: %s\n' "$spec_alloc" "$(one_line "$_why")" >&2
                    exit $TCCP_EXIT_ALLOC_GONE
                    ;;
            esac
            status_set "$RUN_DIR" state=failed "ended_at=$(now_utc)" \
                "reason=the step did not start: $(one_line "$_why")"
            die "the SLURM step did not start: $(one_line "$_why")"
        fi
        _n=$((_n + 1))
        [ $_n -lt 3000 ] || die "the SLURM step did not start within a minute"
        sleep 0.01
    done
    print_status "$RUN_DIR"
}

# --- the run itself (on the compute node, inside the step) -----------------

# log_init MESSAGE: a line of init.log (and of the terminal, when attached).
log_init() {
    printf '[tccp] %s\n' "$*" | tee -a "$RUN_DIR/init.log" >&3
}

# stage_done NAME START RESULT: records a stage's duration.
stage_done() {
    _secs=$(elapsed_since "$2")
    printf '%s|%s|%s\n' "$1" "$_secs" "$3" >>"$RUN_DIR/.tccp/init.times"
    log_init "$1: $3 in ${_secs}s"
}

# stage_fail NAME START LOGFILE: a stage failed: the run stops with its log.
stage_fail() {
    stage_done "$1" "$2" failed
    if [ -n "${3:-}" ] && [ -f "$3" ]; then
        tail -n 40 "$3" | sed 's/^/  | /' | tee -a "$RUN_DIR/init.log" >&3
    fi
    run_finish failed 1 "" "$1" "environment setup failed at stage '$1'"
}

# run_finish STATE EXIT_CODE SIGNAL FAILED_STAGE REASON: writes the final
# status (cancelled wins over everything when asked), unregisters, exits.
run_finish() {
    _state=$1
    if [ -f "$RUN_DIR/.tccp/cancelled" ]; then
        _state=cancelled
        set -- cancelled "$2" "$3" "$4" "$(sed -n 1p "$RUN_DIR/.tccp/cancelled")"
    elif [ -n "$TCCP_GOT_SIGNAL" ] && [ "$_state" != finished ]; then
        _start=$(status_get "$RUN_DIR" step_started_epoch)
        _limit=$spec_time_limit_s
        if [ -n "$_limit" ] && [ -n "$_start" ] &&
            [ $(($(now_epoch) - _start + 5)) -ge "$_limit" ]; then
            _state=timeout
            set -- timeout "$2" "$3" "$4" "the run hit its time limit of ${_limit}s"
        else
            _state=killed
            set -- killed "$2" "$3" "$4" "the step was killed (SIG$TCCP_GOT_SIGNAL)"
        fi
    fi
    status_set "$RUN_DIR" "state=$_state" "ended_at=$(now_utc)" "exit_code=$2" \
        "signal=$3" "failed_stage=$4" "reason=$(one_line "$5")"
    rm -f "$(alloc_dir "$spec_alloc")/runs/$spec_run_id"
    [ -d "$(alloc_dir "$spec_alloc")" ] && now_epoch >"$(alloc_dir "$spec_alloc")/activity"
    [ -n "${TCCP_LOCK_HEARTBEAT:-}" ] && kill "$TCCP_LOCK_HEARTBEAT" 2>/dev/null
    [ -n "${TCCP_HELD_LOCK:-}" ] && lock_drop "$TCCP_HELD_LOCK"
    case $_state in
        finished) exit 0 ;;
        failed) exit "${2:-1}" ;;
        *) exit 1 ;;
    esac
}

# filter_requirements TYPE IN OUT: drops comments and blank lines and, for
# python-pytorch, what the PyTorch base provides.
filter_requirements() {
    if [ ! -f "$2" ]; then
        : >"$3"
        return 0
    fi
    sed -e 's/[[:space:]]#.*$//' -e 's/^#.*$//' -e 's/[[:space:]]*$//' "$2" |
        grep -v '^$' |
        if [ "$1" = python-pytorch ]; then
            grep -Eiv '^(torch|torchvision|torchaudio|triton|nvidia-[A-Za-z0-9_.-]*)([[:space:]]*([<>=!~;[@]|$))'
        else
            cat
        fi >"$3"
    return 0
}

# url_host URL: the host part of an http(s) URL.
url_host() {
    _h=${1#*://}
    _h=${_h%%/*}
    _h=${_h##*@}
    printf '%s' "${_h%%:*}"
}

# env_init: the environment stages; sets TCCP_PYTHON to the interpreter the
# program runs with.
env_init() {
    # Runtime: host Python today; containers plug in here.
    _t=$(now_precise)
    case ${spec_runtime:-none} in
        none | host) stage_done runtime "$_t" "host python" ;;
        *)
            log_init "runtime '$spec_runtime' is not supported by this helper yet"
            stage_fail runtime "$_t" ""
            ;;
    esac

    _t=$(now_precise)
    _base=$(command -v "${spec_python:-python3}") || {
        log_init "no '${spec_python:-python3}' on $(hostname)"
        stage_fail python "$_t" ""
    }
    _pyver=$("$_base" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>&1) || {
        log_init "$_base does not run: $_pyver"
        stage_fail python "$_t" ""
    }
    stage_done python "$_t" "$_base $_pyver"

    _t=$(now_precise)
    _req=$RUN_DIR/.tccp/requirements.txt
    filter_requirements "$spec_type" "$RUN_DIR/requirements.txt" "$_req"
    _sys=no
    if [ "$spec_type" = python-pytorch ] || [ "${spec_system_site_packages:-false}" = true ]; then
        _sys=sys
    fi
    _hash=$({
        printf '%s\n%s\n%s\n%s\n' "$spec_type" "$_pyver" "$_sys" "${spec_pip_index:-}"
        cat "$_req"
    } | sha256sum | cut -c1-16)
    _key=$spec_type-py$_pyver-$_sys-$_hash
    _venv=$TCCP_ROOT/venvs/$_key
    status_set "$RUN_DIR" "venv=$_key"
    stage_done requirements "$_t" "$(wc -l <"$_req" | tr -d ' ') packages, venv $_key"

    if [ -f "$_venv/.tccp-ready" ]; then
        stage_done venv "$(now_precise)" cached
    else
        _t=$(now_precise)
        mkdir -p "$TCCP_ROOT/venvs"
        TCCP_HELD_LOCK=$_venv.lock
        if ! lock_take "$TCCP_HELD_LOCK" 120 3600; then
            TCCP_HELD_LOCK=
            log_init "another run has been building $_key for an hour"
            stage_fail venv-lock "$_t" ""
        fi
        # The heartbeat holds none of our descriptors (a terminal or a pipe
        # held open would keep dtach or the caller waiting).
        (
            exec </dev/null >/dev/null 2>&1
            while sleep 20; do lock_refresh "$_venv.lock"; done
        ) &
        TCCP_LOCK_HEARTBEAT=$!
        if [ -f "$_venv/.tccp-ready" ]; then
            stage_done venv "$_t" "built meanwhile by another run"
        else
            rm -rf "$_venv"
            _vlog=$RUN_DIR/.tccp/venv.log
            _flag=
            [ $_sys = sys ] && _flag=--system-site-packages
            # Without pip when nothing is to be installed, or when the base
            # Python's pip is visible in the venv (ensurepip takes seconds).
            _nopip=
            if [ ! -s "$_req" ] || { [ $_sys = sys ] && "$_base" -c 'import pip' >/dev/null 2>&1; }; then
                _nopip=--without-pip
            fi
            if command -v uv >/dev/null 2>&1; then
                uv venv --python "$_base" $_flag "$_venv" >"$_vlog" 2>&1 || stage_fail venv "$_t" "$_vlog"
            else
                "$_base" -m venv $_flag $_nopip "$_venv" >"$_vlog" 2>&1 || stage_fail venv "$_t" "$_vlog"
            fi
            stage_done venv "$_t" created
            _t=$(now_precise)
            _ilog=$RUN_DIR/.tccp/install.log
            if [ -s "$_req" ]; then
                if [ -n "${spec_pip_index:-}" ]; then
                    PIP_INDEX_URL=$spec_pip_index
                    UV_INDEX_URL=$spec_pip_index
                    export PIP_INDEX_URL UV_INDEX_URL
                    case $spec_pip_index in
                        http://*)
                            PIP_TRUSTED_HOST=$(url_host "$spec_pip_index")
                            UV_INSECURE_HOST=$PIP_TRUSTED_HOST
                            export PIP_TRUSTED_HOST UV_INSECURE_HOST
                            ;;
                    esac
                fi
                if command -v uv >/dev/null 2>&1; then
                    uv pip install --python "$_venv/bin/python" -r "$_req" >"$_ilog" 2>&1 ||
                        stage_fail install "$_t" "$_ilog"
                    stage_done install "$_t" "installed with uv"
                else
                    PIP_DISABLE_PIP_VERSION_CHECK=1 "$_venv/bin/python" -m pip install \
                        --no-input -r "$_req" >"$_ilog" 2>&1 || stage_fail install "$_t" "$_ilog"
                    stage_done install "$_t" "installed with pip"
                fi
                cp "$_req" "$_venv/requirements.txt"
            else
                stage_done install "$_t" "nothing to install"
            fi
            now_utc >"$_venv/.tccp-ready"
        fi
        kill "$TCCP_LOCK_HEARTBEAT" 2>/dev/null
        TCCP_LOCK_HEARTBEAT=
        lock_drop "$TCCP_HELD_LOCK"
        TCCP_HELD_LOCK=
    fi
    TCCP_PYTHON=$_venv/bin/python

    _t=$(now_precise)
    if [ -n "${spec_cache:-}" ]; then
        _cache=$TCCP_NODE_DIR/cache/$spec_project
        mkdir -p "$_cache" && chmod 700 "$TCCP_NODE_DIR" "$TCCP_NODE_DIR/cache"
        if [ -e "$RUN_DIR/$spec_cache" ] || [ -L "$RUN_DIR/$spec_cache" ]; then
            log_init "cache: '$spec_cache' is part of the synced tree; not linking the node cache"
        else
            mkdir -p "$(dirname "$RUN_DIR/$spec_cache")"
            ln -s "$_cache" "$RUN_DIR/$spec_cache"
        fi
    fi
    [ -n "${spec_output:-}" ] && mkdir -p "$RUN_DIR/$spec_output"
    stage_done workdir "$_t" ok
}

# load_env_file FILE: exports KEY=VALUE lines (optional "export ", quotes).
load_env_file() {
    while IFS= read -r _l || [ -n "$_l" ]; do
        _l=${_l#"${_l%%[![:space:]]*}"}
        case $_l in '' | '#'*) continue ;; esac
        _l=${_l#export }
        _k=${_l%%=*}
        [ "$_k" != "$_l" ] || continue
        case $_k in '' | [0-9]* | *[!A-Za-z0-9_]*) continue ;; esac
        _v=${_l#*=}
        case $_v in
            \"*\") _v=${_v#\"}; _v=${_v%\"} ;;
            \'*\') _v=${_v#\'}; _v=${_v%\'} ;;
        esac
        export "$_k=$_v"
    done <"$1"
}

# clear_step_env: SLURM variables of this step that would make the user's own
# srun/torchrun use one task or the step's CPUs; the job's own stay.
clear_step_env() {
    for _v in $(env | sed -n 's/^\(SLURM_[A-Za-z0-9_]*\)=.*/\1/p'); do
        case $_v in
            SLURM_STEP_* | SLURM_STEPID | SLURM_NTASKS | SLURM_NPROCS | SLURM_TASKS_PER_NODE | \
                SLURM_NTASKS_PER_NODE | SLURM_SRUN_COMM_* | SLURM_DISTRIBUTION | SLURM_CPU_BIND* | \
                SLURM_LAUNCH_NODE_IPADDR | SLURM_PROCID | SLURM_LOCALID | SLURM_NODEID | \
                SLURM_GTIDS | SLURM_TASK_PID | SLURM_OVERLAP | SLURM_UMASK | SLURM_PTY_* | \
                SLURM_JOB_NAME | SLURM_CPUS_ON_NODE | SLURM_EXACT | SLURM_MEM_BIND* | SLURM_NNODES | \
                SLURM_JOB_NUM_NODES_STEP | SLURM_TRES_PER_TASK)
                unset "$_v" ;;
        esac
    done
    return 0
}

# sigint_ignored: true when this process ignores SIGINT (bit 2 of SigIgn).
sigint_ignored() {
    _ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/self/status 2>/dev/null)
    case $_ign in
        *[2367abefABEF]) return 0 ;;
    esac
    return 1
}

# program_env: the run's environment: the job's variables, the env file,
# PYTHONUNBUFFERED, the venv first on PATH, no step-scoped SLURM variables.
program_env() {
    cd "$RUN_DIR" || exit 1
    tccp_export_environment
    if [ -n "${spec_env_file:-}" ] && [ -f "$RUN_DIR/$spec_env_file" ]; then
        load_env_file "$RUN_DIR/$spec_env_file"
    fi
    [ -n "${PYTHONUNBUFFERED+x}" ] || export PYTHONUNBUFFERED=1
    clear_step_env
    VIRTUAL_ENV=${TCCP_PYTHON%/bin/python}
    PATH=$VIRTUAL_ENV/bin:$PATH
    TCCP_RUN_ID=$spec_run_id
    TCCP_RUN_DIR=$RUN_DIR
    export VIRTUAL_ENV PATH TCCP_RUN_ID TCCP_RUN_DIR
    unset PYTHONHOME
    # tccp's own files are private; the program gets the usual umask (its
    # run directory is private anyway).
    umask 022
}

# exec_program ARGS...: the user's program, in the run directory.
exec_program() {
    program_env
    if [ -n "${spec_package:-}" ]; then
        set -- -m "$spec_package" "$@"
    else
        set -- "$spec_script" "$@"
    fi
    # The run was started in the background of its supervisor, so SIGINT is
    # ignored here; Python would then ignore Ctrl+C. Give it back its default.
    if sigint_ignored; then
        exec "$TCCP_PYTHON" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.executable, [sys.executable] + sys.argv[1:])' "$@"
    fi
    exec "$TCCP_PYTHON" "$@"
}

on_signal() {
    [ -n "$TCCP_GOT_SIGNAL" ] || TCCP_GOT_SIGNAL=$1
}

signal_name() {
    case $1 in
        1) echo HUP ;; 2) echo INT ;; 3) echo QUIT ;; 6) echo ABRT ;; 9) echo KILL ;;
        11) echo SEGV ;; 13) echo PIPE ;; 15) echo TERM ;; 10) echo USR1 ;; 12) echo USR2 ;;
        *) echo "$1" ;;
    esac
}

# load_spec RUNDIR: the run's spec and signal bookkeeping.
load_spec() {
    RUN_DIR=$1
    cd "$RUN_DIR" || die "no run directory $RUN_DIR"
    spec_reset
    eval "$(cat "$RUN_DIR/.tccp/spec")" || die "bad run spec in $RUN_DIR"
    TCCP_GOT_SIGNAL=
    TCCP_HELD_LOCK=
    TCCP_LOCK_HEARTBEAT=
}

# cmd_run_step RUNDIR: the task of the run's SLURM step, on the node. It
# supervises: runs run_inner under dtach -N (or directly without dtach) and,
# when that could not write a final status (killed), writes it. It must be
# the step's task: when the task ends the step's other processes are killed.
# SLURM signals only this task (a cancel, a time limit), and dtach puts the
# run in its own session, so the supervisor passes SIGTERM on; it waits in
# the background-and-wait way so that a signal interrupts the wait.
cmd_run_step() {
    jobs_setup
    load_spec "$1"
    trap 'on_signal TERM' TERM
    trap 'on_signal HUP' HUP
    trap 'on_signal INT' INT
    exec 3>/dev/null
    _holder=none
    command -v dtach >/dev/null 2>&1 && _holder=dtach
    _sock=$TCCP_NODE_DIR/sock/$spec_run_id
    mkdir -p "$TCCP_NODE_DIR/sock" && chmod 700 "$TCCP_NODE_DIR" "$TCCP_NODE_DIR/sock"
    status_set "$RUN_DIR" "step_id=${SLURM_STEP_ID:-}" "node=${SLURMD_NODENAME:-$(hostname)}" \
        "pid=$$" "sock=$_sock" "step_started_epoch=$(now_epoch)" "holder=$_holder"
    if [ $_holder = dtach ]; then
        dtach -N "$_sock" -z "$TCCP_SELF" "$TCCP_ROOT" run_inner "$RUN_DIR" dtach &
    else
        "$TCCP_SELF" "$TCCP_ROOT" run_inner "$RUN_DIR" none &
    fi
    _child=$!
    _forwarded=
    while kill -0 "$_child" 2>/dev/null; do
        wait "$_child"
        if [ -n "$TCCP_GOT_SIGNAL" ] && [ -z "$_forwarded" ]; then
            _forwarded=1
            if [ $_holder = dtach ]; then
                _ipid=$(status_get "$RUN_DIR" inner_pid)
                [ -n "$_ipid" ] && kill -TERM -"$_ipid" 2>/dev/null
            else
                kill -TERM 0 2>/dev/null
            fi
        fi
    done
    # The inner runner may outlive dtach's master by a moment.
    _ipid=$(status_get "$RUN_DIR" inner_pid)
    _n=0
    while [ -n "$_ipid" ] && kill -0 "$_ipid" 2>/dev/null && [ $_n -lt 100 ]; do
        _n=$((_n + 1))
        sleep 0.05
    done
    _st=$(status_get "$RUN_DIR" state)
    is_terminal_state "$_st" && exit 0
    [ "$_st" = killed ] && exit 0
    run_finish failed "" "${TCCP_GOT_SIGNAL:-}" "" "the run ended without writing its status"
}

# cmd_run_inner RUNDIR HOLDER: the run itself, on the node: environment
# init, then the program with its output in tccp.log (and on the dtach
# terminal when HOLDER is dtach). Writes the status at every change.
cmd_run_inner() {
    jobs_setup
    load_spec "$1"
    _holder=${2:-none}
    trap 'on_signal TERM' TERM
    trap 'on_signal HUP' HUP
    trap ':' INT
    if [ "$_holder" = dtach ]; then
        exec 3>&1
    else
        exec 3>/dev/null
    fi
    status_set "$RUN_DIR" "inner_pid=$$" "init_started_at=$(now_utc)"
    if [ -f "$RUN_DIR/.tccp/cancelled" ]; then
        run_finish cancelled "" "" "" "cancelled before it started"
    fi
    env_init
    [ -z "$TCCP_GOT_SIGNAL" ] || run_finish killed "" "" init "interrupted during setup"
    [ ! -f "$RUN_DIR/.tccp/cancelled" ] || run_finish cancelled "" "" "" ""
    status_set "$RUN_DIR" state=running "started_at=$(now_utc)" \
        "digest_started=$spec_code_digest"
    eval "set -- $spec_args"
    rm -f "$RUN_DIR/.tccp/rc"
    # The program runs in the foreground (a background job would ignore
    # SIGINT and lose its terminal stdin) and writes into tee, which ignores
    # SIGINT so that the traceback after Ctrl+C still reaches the log. The
    # group catches INT/TERM/HUP so that it outlives the program and records
    # its exit status.
    {
        trap ':' INT TERM HUP
        (exec_program "$@") 2>&1
        printf '%s\n' "$?" >"$RUN_DIR/.tccp/rc"
    } | tee -ai "$RUN_DIR/tccp.log" >&3
    _rc=$(cat "$RUN_DIR/.tccp/rc" 2>/dev/null) || _rc=
    _sig=
    if [ -z "$_rc" ]; then
        _rc=
        _sig=KILL
    elif [ "$_rc" -gt 128 ]; then
        _sig=$(signal_name $((_rc - 128)))
    fi
    if [ "$_rc" = 0 ]; then
        run_finish finished 0 "" "" ""
    elif [ -n "$_sig" ]; then
        run_finish failed "$_rc" "$_sig" "" "the program was killed by SIG$_sig"
    else
        run_finish failed "$_rc" "" "" "the program exited with code $_rc"
    fi
}

# --- cancel -----------------------------------------------------------------

# cmd_run_cancel PROJECT SELECTOR: cancels a run during init or while it
# runs; waits (a few seconds) for its final status and prints it.
cmd_run_cancel() {
    [ $# -eq 2 ] || usage_die "usage: run_cancel PROJECT SELECTOR"
    jobs_setup
    resolve_run "$1" "$2"
    _st=$(status_get "$RUN_DIR" state)
    if is_terminal_state "$_st"; then
        print_status "$RUN_DIR"
        printf 'already|%s\n' "$_st"
        return 0
    fi
    printf 'cancelled by the user\n' >"$RUN_DIR/.tccp/cancelled"
    _alloc=$(status_get "$RUN_DIR" alloc_id)
    _n=0
    while :; do
        _step=$(status_get "$RUN_DIR" step_id)
        [ -n "$_step" ] && break
        _srun=$(status_get "$RUN_DIR" srun_pid)
        if [ -z "$_srun" ] || ! kill -0 "$_srun" 2>/dev/null || [ $_n -ge 300 ]; then
            break
        fi
        _n=$((_n + 1))
        sleep 0.02
    done
    # SIGTERM first, so that the runner records the cancel and releases what
    # it holds; a step cancel without a signal would SIGKILL everything.
    if [ -n "$_step" ]; then
        scancel --signal=TERM "$_alloc.$_step" 2>/dev/null
    else
        _srun=$(status_get "$RUN_DIR" srun_pid)
        [ -n "$_srun" ] && kill "$_srun" 2>/dev/null
    fi
    _n=0
    while [ $_n -lt 100 ]; do
        _st=$(status_get "$RUN_DIR" state)
        is_terminal_state "$_st" && break
        [ $_n -eq 60 ] && [ -n "$_step" ] && scancel "$_alloc.$_step" 2>/dev/null
        _n=$((_n + 1))
        sleep 0.05
    done
    _st=$(status_get "$RUN_DIR" state)
    if ! is_terminal_state "$_st"; then
        status_set "$RUN_DIR" state=cancelled "ended_at=$(now_utc)" "reason=cancelled by the user"
        rm -f "$(alloc_dir "$_alloc")/runs/$(status_get "$RUN_DIR" run_id)"
    fi
    print_status "$RUN_DIR"
}

# cmd_run_mark PROJECT RUN_ID STATE REASON [RUN_ID STATE REASON...]: records
# what tccp found out about runs whose runner could not (lost, timeout),
# unless they ended meanwhile. Prints each run's status after "run|ID".
cmd_run_mark() {
    [ $# -ge 4 ] || usage_die "usage: run_mark PROJECT RUN_ID STATE REASON..."
    jobs_setup
    _project=$1
    shift
    while [ $# -ge 3 ]; do
        resolve_run "$_project" "$1"
        _st=$(status_get "$RUN_DIR" state)
        case $_st in
            finished | failed | cancelled) ;;
            *)
                _end=$(status_get "$RUN_DIR" ended_at)
                status_set "$RUN_DIR" "state=$2" "ended_at=${_end:-$(now_utc)}" \
                    "reason=$(one_line "$3")"
                rm -f "$(alloc_dir "$(status_get "$RUN_DIR" alloc_id)")/runs/$1"
                ;;
        esac
        printf 'run|%s\n' "$1"
        print_status "$RUN_DIR"
        shift 3
    done
}

# --- listing ----------------------------------------------------------------

# cmd_jobs PROJECT: every run of the project with its status, the
# project's allocations (one squeue), the steps of allocations whose runs
# still look alive, and sacct for allocations squeue forgot.
cmd_jobs() {
    [ $# -eq 1 ] || usage_die "usage: jobs PROJECT"
    jobs_setup
    check_name project "$1"
    _runs=$(runs_dir "$1")
    printf 'now|%s\n' "$(now_epoch)"
    _q=$(squeue_jobs -t all 2>&1) || die "squeue failed: $(one_line "$_q")"
    printf '%s\n' "$_q" | while IFS= read -r _line; do
        [ -n "$_line" ] || continue
        name_in_scope "${_line##*|}" "$1" && printf 'alloc|%s\n' "$_line"
    done
    _live_allocs=
    _lost_allocs=
    _alive_runs=
    for _rd in "$_runs"/*/; do
        _rd=${_rd%/}
        [ -f "$_rd/status" ] || continue
        printf 'run|%s\n' "${_rd##*/}"
        print_status "$_rd"
        _st=$(status_get "$_rd" state)
        is_terminal_state "$_st" && continue
        _a=$(status_get "$_rd" alloc_id)
        [ -n "$_a" ] || continue
        _alive_runs="$_alive_runs ${_rd##*/}"
        if printf '%s\n' "$_q" | grep -q "^$_a|RUNNING|"; then
            case ",$_live_allocs," in *",$_a,"*) ;; *) _live_allocs="$_live_allocs,$_a" ;; esac
        elif ! printf '%s\n' "$_q" | grep -q "^$_a|"; then
            case ",$_lost_allocs," in *",$_a,"*) ;; *) _lost_allocs="$_lost_allocs,$_a" ;; esac
        fi
    done
    if [ -n "$_live_allocs" ]; then
        squeue -h -s -j "${_live_allocs#,}" -o "$TCCP_SQUEUE_STEP_FORMAT" 2>/dev/null |
            sed 's/^/step|/'
        printf 'steps_checked|%s\n' "${_live_allocs#,}"
        # Read again: a run that ended while the steps were listed wrote its
        # final status before its step went away.
        for _id in $_alive_runs; do
            printf 'recheck|%s\n' "$_id"
            print_status "$_runs/$_id"
        done
    fi
    if [ -n "$_lost_allocs" ]; then
        sacct -X -n -P -j "${_lost_allocs#,}" -o "$TCCP_SACCT_FORMAT" 2>/dev/null |
            sed 's/^/sacct|/'
    fi
}

# --- logs -------------------------------------------------------------------

# copy_new FILE OFFSET_VAR: prints the bytes of FILE after the offset held in
# the variable named OFFSET_VAR and advances it.
copy_new() {
    _off=0
    eval "_off=\$$2"
    _size=$(wc -c <"$1" 2>/dev/null) || return 1
    _size=$(printf '%s' "$_size" | tr -d ' ')
    if [ "$_size" -gt "$_off" ]; then
        tail -c +$((_off + 1)) "$1" | head -c $((_size - _off))
        eval "$2=\$_size"
        return 0
    fi
    return 1
}

# follow_run FROM_OFFSET: streams tccp.log (stdout) and init.log (stderr) of
# RUN_DIR until the run ends, then prints "tccp-status|STATE|EXIT|SIGNAL|REASON"
# on stderr. Polls quickly while output flows, slower when it is quiet.
follow_run() {
    _log_off=$1
    _init_off=0
    _quiet=0
    while :; do
        _st=$(status_get "$RUN_DIR" state)
        _got=
        copy_new "$RUN_DIR/init.log" _init_off >&2 && _got=1
        copy_new "$RUN_DIR/tccp.log" _log_off && _got=1
        if is_terminal_state "$_st" || [ "$_st" = killed ]; then
            copy_new "$RUN_DIR/init.log" _init_off >&2
            copy_new "$RUN_DIR/tccp.log" _log_off
            break
        fi
        if [ -n "$_got" ]; then _quiet=0; else _quiet=$((_quiet + 1)); fi
        if [ $_quiet -lt 50 ]; then
            sleep 0.02
        elif [ $_quiet -lt 100 ]; then
            sleep 0.1
        else
            sleep 0.25
        fi
    done
    printf 'tccp-status|%s|%s|%s|%s\n' "$_st" "$(status_get "$RUN_DIR" exit_code)" \
        "$(status_get "$RUN_DIR" signal)" "$(status_get "$RUN_DIR" reason)" >&2
}

# cmd_logs PROJECT SELECTOR MODE [N]: MODE cat (all of tccp.log), tail (last
# N lines), init (init.log and stage times), follow (from the start, until
# the run ends), tailfollow (last N lines, then follow). The first line is
# "run|RUN_ID|STATE".
cmd_logs() {
    [ $# -ge 3 ] || usage_die "usage: logs PROJECT SELECTOR MODE [N]"
    jobs_setup
    resolve_run "$1" "$2"
    printf 'run|%s|%s\n' "$RUN_ID" "$(status_get "$RUN_DIR" state)" >&2
    case $3 in
        cat) cat "$RUN_DIR/tccp.log" ;;
        tail) tail -n "${4:-30}" "$RUN_DIR/tccp.log" ;;
        init) cat "$RUN_DIR/init.log" ;;
        follow) follow_run 0 ;;
        tailfollow)
            _size=$(wc -c <"$RUN_DIR/tccp.log" | tr -d ' ')
            head -c "$_size" "$RUN_DIR/tccp.log" | tail -n "${4:-30}"
            follow_run "$_size"
            ;;
        *) usage_die "unknown logs mode '$3'" ;;
    esac
}

# cmd_run_info PROJECT SELECTOR: status, stage times and the allocation's
# squeue line of one run.
cmd_run_info() {
    [ $# -eq 2 ] || usage_die "usage: run_info PROJECT SELECTOR"
    jobs_setup
    resolve_run "$1" "$2"
    printf 'now|%s\n' "$(now_epoch)"
    printf 'run|%s\n' "$RUN_ID"
    print_status "$RUN_DIR"
    sed 's/^/stage|/' "$RUN_DIR/.tccp/init.times" 2>/dev/null
    _a=$(status_get "$RUN_DIR" alloc_id)
    if [ -n "$_a" ]; then
        _line=$(squeue_jobs -t all -j "$_a" 2>/dev/null)
        if [ -n "$_line" ]; then
            printf 'alloc|%s\n' "$_line"
        else
            sacct -X -n -P -j "$_a" -o "$TCCP_SACCT_FORMAT" 2>/dev/null | sed 's/^/sacct|/'
        fi
    fi
    return 0
}

# cmd_view PROJECT SELECTOR [LINES]: on a terminal: the recent output, then
# the live program through dtach (Ctrl+\\ detaches). Exits with the program's
# exit code when it ends, 0 when detached.
cmd_view() {
    [ $# -ge 2 ] || usage_die "usage: view PROJECT SELECTOR [LINES]"
    jobs_setup
    resolve_run "$1" "$2"
    _lines=${3:-30}
    _st=$(status_get "$RUN_DIR" state)
    if ! is_terminal_state "$_st" && [ "$(status_get "$RUN_DIR" holder)" = dtach ]; then
        _alloc=$(status_get "$RUN_DIR" alloc_id)
        _node=$(status_get "$RUN_DIR" node)
        printf '[tccp: attaching to %s on %s; Ctrl+\\ detaches, Ctrl+C reaches the program]\n' \
            "$RUN_ID" "$_node"
        srun --jobid="$_alloc" --overlap --nodes=1 --ntasks=1 --nodelist="$_node" \
            --job-name="view:$RUN_ID" --pty \
            "$TCCP_SELF" "$TCCP_ROOT" view_step "$RUN_DIR" "$_lines" 2>"$RUN_DIR/.tccp/view.err"
        _src=$?
        if [ $_src -ne 0 ] && grep -q 'Invalid job id\|expired\|already completed' "$RUN_DIR/.tccp/view.err"; then
            printf '[tccp: allocation %s of %s is gone; see its state with: tccp jobs]\n' \
                "$_alloc" "$RUN_ID"
            exit 1
        fi
        # The runner writes its final status just before dtach ends.
        _n=0
        while [ $_n -lt 20 ]; do
            _st=$(status_get "$RUN_DIR" state)
            is_terminal_state "$_st" && break
            _n=$((_n + 1))
            sleep 0.05
        done
    else
        [ "$_st" = initializing ] && tail -n "$_lines" "$RUN_DIR/init.log"
        tail -n "$_lines" "$RUN_DIR/tccp.log"
        if ! is_terminal_state "$_st"; then
            printf '[tccp: %s has no terminal holder (dtach missing on the node): following its log; input does not reach it]\n' "$RUN_ID"
            _size=$(wc -c <"$RUN_DIR/tccp.log" | tr -d ' ')
            follow_run "$_size" 2>/dev/null
            _st=$(status_get "$RUN_DIR" state)
        fi
    fi
    if is_terminal_state "$_st"; then
        _rc=$(status_get "$RUN_DIR" exit_code)
        printf '[tccp: %s %s, exit code %s]\n' "$RUN_ID" "$_st" "${_rc:-none}"
        case $_rc in '' | *[!0-9]*) exit 1 ;; esac
        exit "$_rc"
    fi
    printf '[tccp: detached; %s keeps running]\n' "$RUN_ID"
    exit 0
}

# cmd_view_step RUNDIR LINES: on the run's node, on the pty of an srun --pty
# step: the recent output, then dtach's live session. dtach clears the
# screen when it attaches (6 bytes, always its first write); they are
# dropped so that the history stays on screen.
cmd_view_step() {
    jobs_setup
    RUN_DIR=$1
    _sock=$(status_get "$RUN_DIR" sock)
    if [ "$(status_get "$RUN_DIR" state)" = initializing ]; then
        tail -n "$2" "$RUN_DIR/init.log"
    fi
    tail -n "$2" "$RUN_DIR/tccp.log"
    [ -S "$_sock" ] || exit 0
    dtach -a "$_sock" -r winch | {
        dd bs=6 count=1 >/dev/null 2>&1
        exec cat
    }
}

# cmd_open PROJECT SELECTOR: an interactive shell on the run's node, in its
# directory and environment (venv, variables), through an srun --pty step.
cmd_open() {
    [ $# -eq 2 ] || usage_die "usage: open PROJECT SELECTOR"
    jobs_setup
    resolve_run "$1" "$2"
    _alloc=$(status_get "$RUN_DIR" alloc_id)
    _node=$(status_get "$RUN_DIR" node)
    if [ "$(status_get "$RUN_DIR" state)" = initializing ]; then
        printf '[tccp: waiting for %s to finish setting up its environment]\n' "$RUN_ID"
        while [ "$(status_get "$RUN_DIR" state)" = initializing ]; do
            sleep 0.2
        done
    fi
    _venv=$(status_get "$RUN_DIR" venv)
    if [ -z "$_venv" ] || [ ! -f "$TCCP_ROOT/venvs/$_venv/.tccp-ready" ]; then
        die "run '$RUN_ID' has no environment (its setup failed: see 'tccp initlogs')"
    fi
    printf '[tccp: shell on %s in %s; exit to leave]\n' "$_node" "$RUN_ID"
    srun --jobid="$_alloc" --overlap --nodes=1 --ntasks=1 --nodelist="$_node" \
        --job-name="open:$RUN_ID" --pty "$TCCP_SELF" "$TCCP_ROOT" open_step "$RUN_DIR" \
        2>"$RUN_DIR/.tccp/open.err"
    _rc=$?
    if [ $_rc -ne 0 ] && grep -q 'Invalid job id\|expired\|already completed' "$RUN_DIR/.tccp/open.err"; then
        die "allocation $_alloc of $RUN_ID is gone; run the job again for a new one"
    fi
    exit $_rc
}

# cmd_node_shell PROJECT RUN [CMD...]: a login shell (or CMD, its words
# joined as ssh joins them) on the run's node, inside its allocation (an
# overlapping step sees the job's GPUs), in the user's home directory.
cmd_node_shell() {
    [ $# -ge 2 ] || usage_die "usage: node_shell PROJECT RUN [CMD...]"
    jobs_setup
    resolve_run "$1" "$2"
    shift 2
    _alloc=$(status_get "$RUN_DIR" alloc_id)
    _node=$(status_get "$RUN_DIR" node)
    if [ -z "$_alloc" ] || [ -z "$_node" ]; then
        die "run '$RUN_ID' has no node yet"
    fi
    _pty=
    if [ $# -eq 0 ]; then
        set -- "${SHELL:-/bin/sh}" -l
        _pty=--pty
    else
        set -- /bin/sh -c "$*"
        [ -t 0 ] && _pty=--pty
    fi
    cd || die "no home directory"
    # shellcheck disable=SC2086
    exec srun --jobid="$_alloc" --overlap --nodes=1 --ntasks=1 --nodelist="$_node" \
        --job-name="ssh:$RUN_ID" --quiet $_pty "$@"
}

# cmd_open_step RUNDIR: on the node: the run's environment, then a shell.
cmd_open_step() {
    jobs_setup
    load_spec "$1"
    TCCP_PYTHON=$TCCP_ROOT/venvs/$(status_get "$RUN_DIR" venv)/bin/python
    program_env
    _shell=${SHELL:-/bin/sh}
    command -v bash >/dev/null 2>&1 && _shell=bash
    exec "$_shell" -i
}
