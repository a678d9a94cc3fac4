
# --- sync -------------------------------------------------------------------
# Project trees, run snapshots and run output.
#
# A sync target (projects/<p>, or projects/<p>/rodata/<key>) holds:
#   tree/          the files
#   manifest       sorted "escaped-path TAB kind TAB sha256" lines
#   digest         sha256 of the manifest (the tree digest)
#   lock/          held (mkdir) while the tree changes or is copied
#   stage.<h>.<pid>/  a push being received
#   commit/        a received push being applied
#
# A push is first received whole into a staging dir (tree untouched) and
# checked: its end marker, then, under the lock, that the tree is at the
# digest the client expected and that the new manifest hashes to the digest
# the client computed. Only then does it become commit/ (one rename) and is
# applied: paths taken out, files sent linked in (replaced, never rewritten,
# so snapshots keep their copies), manifest and digest renamed into place.
# Every reader (snapshot, push, manifest) takes the lock and first finishes
# an interrupted commit (the steps are idempotent): readers see the old tree
# or the new one, never a mix, and a push cut at any byte changes nothing.
# The work of a push is in proportion to what changed, not to the tree.

SYNC_EMPTY_DIGEST=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
SYNC_LOCK=
SYNC_STAGE=
SYNC_HOST=

# sync_init: C locale (bytes, not characters), the root with ~ expanded, and
# the cleanup of a half-done operation however the process ends.
sync_init() {
    LC_ALL=C
    export LC_ALL
    # The root may arrive as "~/..." (quoted by the client): expand it here.
    # shellcheck disable=SC2088
    case $TCCP_ROOT in
        "~") TCCP_ROOT=$HOME ;;
        "~/"*) TCCP_ROOT=$HOME/${TCCP_ROOT#"~/"} ;;
    esac
    SYNC_HOST=$(uname -n)
    trap sync_cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM
}

sync_cleanup() {
    if [ -n "$SYNC_STAGE" ]; then
        rm -rf "$SYNC_STAGE"
        SYNC_STAGE=
    fi
    sync_unlock
}

# sync_check_rel PATH: a relative path that stays inside its parent.
sync_check_rel() {
    case /$1/ in
        //|*/../*|*/./*|*//*) usage_die "bad relative path '$1'" ;;
    esac
    case $1 in
        /*) usage_die "bad relative path '$1'" ;;
    esac
}

# sync_check_name NAME: one path component.
sync_check_name() {
    case $1 in
        ''|.|..|*/*) usage_die "bad name '$1'" ;;
    esac
}

sync_lock() {
    [ -n "$SYNC_HOST" ] || SYNC_HOST=$(uname -n)
    [ -d "$1" ] || mkdir -p "$1" || die "cannot create '$1'"
    _lk=$1/lock
    _tries=0
    until mkdir "$_lk" 2>/dev/null; do
        if sync_lock_stale "$_lk"; then
            rm -rf "$_lk"
            continue
        fi
        _tries=$((_tries + 1))
        if [ "$_tries" -gt 1200 ]; then
            die "'$1' stays locked by $(cat "$_lk/owner" 2>/dev/null || echo 'another tccp'); try again later"
        fi
        sleep 0.05 2>/dev/null || sleep 1
    done
    SYNC_LOCK=$_lk
    printf '%s %s\n' "$SYNC_HOST" "$$" >"$_lk/owner"
}

sync_unlock() {
    if [ -n "$SYNC_LOCK" ]; then
        rm -rf "$SYNC_LOCK"
        SYNC_LOCK=
    fi
}

# sync_lock_stale LOCKDIR: its holder is gone (a dead process on this host,
# or a lock older than ten minutes).
sync_lock_stale() {
    _owner=$(cat "$1/owner" 2>/dev/null) || _owner=
    if [ -n "$_owner" ] && [ "${_owner% *}" = "$SYNC_HOST" ]; then
        if kill -0 "${_owner#* }" 2>/dev/null; then
            return 1
        fi
        return 0
    fi
    [ -n "$(find "$1" -maxdepth 0 -mmin +10 2>/dev/null)" ]
}

# sync_first_line FILE: its first line, or nothing (no process started:
# every fork counts in a push of one round trip).
sync_first_line() {
    _fl=
    { IFS= read -r _fl <"$1"; } 2>/dev/null
    printf '%s\n' "$_fl"
}

# sync_digest TARGET: the digest of the tree.
sync_digest() {
    if [ -f "$1/digest" ]; then
        sync_first_line "$1/digest"
    else
        printf '%s\n' "$SYNC_EMPTY_DIGEST"
    fi
}

# sync_commit TARGET: applies TARGET/commit to the tree, then drops it. Each
# step can be repeated: after an interruption the next holder of the lock
# runs it again from the start.
sync_commit() {
    _c=$1/commit
    if [ ! -e "$1/tree" ] && [ -d "$_c/in/f" ]; then
        # A first push: the files received become the tree by one rename.
        mv "$_c/in/f" "$1/tree" || die "cannot create '$1/tree'"
    fi
    [ -d "$1/tree" ] || mkdir -p "$1/tree" || die "cannot create '$1/tree'"
    if [ -s "$_c/in/c/remove" ]; then
        (cd "$1/tree" && xargs -0 rm -rf -- <"$_c/in/c/remove") ||
            die "cannot remove deleted paths from '$1/tree'"
    fi
    # Fault injection for tests: die between the two halves of a commit.
    if [ "${TCCP_SYNC_FAULT:-}" = commit ]; then
        kill -KILL $$
    fi
    if [ -d "$_c/in/f" ]; then
        cp -al --remove-destination "$_c/in/f/." "$1/tree/" ||
            die "cannot place the files sent into '$1/tree'"
    fi
    if [ -f "$_c/manifest" ]; then
        mv -f "$_c/manifest" "$1/manifest" || die "cannot write '$1/manifest'"
    fi
    if [ -f "$_c/digest" ]; then
        mv -f "$_c/digest" "$1/digest" || die "cannot write '$1/digest'"
    fi
    rm -rf "$_c"
}

# sync_recover TARGET: finishes a commit an interrupted push left (lock held).
sync_recover() {
    if [ -d "$1/commit" ]; then
        sync_commit "$1"
    fi
}

# sync_mismatch TARGET: the answer when the client's idea of the tree is
# wrong: the real digest, then the manifest for it to compute a delta.
sync_mismatch() {
    [ -n "$SYNC_LOCK" ] || sync_lock "$1"
    sync_recover "$1"
    printf 'mismatch %s\n' "$(sync_digest "$1")"
    cat "$1/manifest" 2>/dev/null
    sync_unlock
    return 0
}

# sync_sweep TARGET: removes what interrupted pushes left behind: staging
# dirs of dead processes on this host, or older than a day.
sync_sweep() {
    for _x in "$1"/stage.*; do
        [ -d "$_x" ] || continue
        _name=${_x##*/stage.}
        _pid=${_name##*.}
        _host=${_name%.*}
        if [ "$_host" = "$SYNC_HOST" ]; then
            kill -0 "$_pid" 2>/dev/null || rm -rf "$_x"
        elif [ -n "$(find "$_x" -maxdepth 0 -mtime +0 2>/dev/null)" ]; then
            rm -rf "$_x"
        fi
    done
}

# cmd_sync_apply TARGET EXPECTED NEW: applies a push read from stdin, a tar
# stream of c/remove (NUL-separated paths to take out), c/drop (escaped
# paths whose manifest lines go), c/add (new manifest lines), the files
# under f/, and last c/end holding NEW. It applies on top of the tree whose
# digest is EXPECTED; the result must hash to NEW. Prints "ok DIGEST"; or,
# when the tree is not at EXPECTED, "mismatch DIGEST" and the manifest
# (without reading stdin when that is known at once).
cmd_sync_apply() {
    [ $# -eq 3 ] || usage_die "usage: sync_apply TARGET EXPECTED_DIGEST NEW_DIGEST"
    sync_init
    sync_check_rel "$1"
    _t=$TCCP_ROOT/$1
    [ -d "$_t" ] || mkdir -p "$_t" || die "cannot create '$_t'"
    if [ ! -d "$_t/commit" ] && [ "$(sync_digest "$_t")" != "$2" ]; then
        sync_mismatch "$_t"
        return 0
    fi
    sync_sweep "$_t"
    SYNC_STAGE=$_t/stage.$SYNC_HOST.$$
    _s=$SYNC_STAGE
    mkdir "$_s" "$_s/in" || die "cannot create a staging directory in '$_t'"
    # A laptop clock ahead of the cluster's is no reason to warn.
    if ! tar -xf - -C "$_s/in" --no-same-owner --warning=no-timestamp 2>"$_s/tar.err"; then
        die "the push was cut short ($(head -c 200 "$_s/tar.err" | tr '\n' ' ')); the tree is unchanged"
    fi
    if [ "$(sync_first_line "$_s/in/c/end")" != "$3" ]; then
        die "the push was cut short; the tree is unchanged"
    fi
    for _x in remove drop add; do
        [ -f "$_s/in/c/$_x" ] || die "malformed push: no c/$_x"
    done
    sync_lock "$_t"
    sync_recover "$_t"
    if [ "$(sync_digest "$_t")" != "$2" ]; then
        sync_mismatch "$_t"
        return 0
    fi
    if [ ! -s "$_s/in/c/drop" ] && [ ! -s "$_s/in/c/add" ] && [ "$2" = "$3" ]; then
        sync_unlock
        printf 'ok %s\n' "$3"
        return 0
    fi
    cd "$_s" || die "cannot enter '$_s'"
    [ -f ../manifest ] && _old=../manifest || _old=/dev/null
    {
        awk -F '\t' 'FILENAME == ARGV[1] { drop[$0] = 1; next } !($1 in drop)' \
            in/c/drop "$_old" || exit 1
        cat in/c/add
    } | sort >manifest || die "cannot write the manifest"
    _d=$(sha256sum <manifest) || die "sha256sum failed"
    _d=${_d%% *}
    if [ "$_d" != "$3" ]; then
        die "the pushed tree does not add up (digest $_d, expected $3); the tree is unchanged"
    fi
    printf '%s\n' "$_d" >digest
    cd "$_t" || die "cannot enter '$_t'"
    # From here the push is committed: whoever holds the lock next finishes it.
    mv "$_s" commit || die "cannot commit the push"
    SYNC_STAGE=
    sync_commit "$_t"
    sync_unlock
    printf 'ok %s\n' "$_d"
}

# cmd_sync_manifest TARGET: "digest DIGEST", then the manifest.
cmd_sync_manifest() {
    [ $# -eq 1 ] || usage_die "usage: sync_manifest TARGET"
    sync_init
    sync_check_rel "$1"
    _t=$TCCP_ROOT/$1
    sync_lock "$_t"
    sync_recover "$_t"
    printf 'digest %s\n' "$(sync_digest "$_t")"
    cat "$_t/manifest" 2>/dev/null
    sync_unlock
    return 0
}

# sync_link_in DIR REL UP TARGET: makes DIR/REL a relative symlink to TARGET,
# a path relative to the directory UP levels above DIR.
sync_link_in() {
    _slashes=$(printf '%s' "$2" | tr -cd / | wc -c)
    _up=$((_slashes + $3))
    _rel=
    while [ "$_up" -gt 0 ]; do
        _rel=../$_rel
        _up=$((_up - 1))
    done
    _link=$1/$2
    mkdir -p "${_link%/*}" || die "cannot create '${_link%/*}'"
    rm -rf "$_link"
    ln -s "$_rel$4" "$_link" || die "cannot link '$2'"
}

# --- runs -------------------------------------------------------------------
# A run of project P is projects/P/runs/<id>/: the snapshot of the tree (the
# program's working directory), its output dir inside it, and the run's
# `status` file (key=value lines: job=, created_at=, state=, ...), which the
# launch side owns and extends.

# sync_snapshot_tree PROJECT DEST: makes DEST (which must not exist) an
# immutable copy of the project's tree: hard links, taken under the
# project's lock (never in the middle of a push). Sets SYNC_SNAPSHOT_DIGEST
# to the tree digest. Pushes replace files, never rewrite them: DEST keeps
# its contents whatever is pushed later.
sync_snapshot_tree() {
    _p=$TCCP_ROOT/projects/$1
    [ ! -e "$2" ] || die "'$2' exists already"
    sync_lock "$_p"
    sync_recover "$_p"
    if [ ! -d "$_p/tree" ] || [ ! -f "$_p/digest" ]; then
        sync_unlock
        die "nothing was pushed to project '$1' yet"
    fi
    if ! cp -al "$_p/tree" "$2" || ! SYNC_SNAPSHOT_DIGEST=$(cat "$_p/digest"); then
        rm -rf "$2"
        sync_unlock
        die "cannot copy the tree of project '$1' into '$2'"
    fi
    sync_unlock
}

# sync_status_get RUN_DIR KEY: a value of the run's status file.
sync_status_get() {
    sed -n "s/^$2=//p" "$1/status" 2>/dev/null | tail -n 1
}

# cmd_snapshot PROJECT RUN_ID JOB OUTPUT [RODATA_PATH RODATA_KEY]...: makes
# the run dir projects/<p>/runs/<run>/ from the current tree, with its
# OUTPUT dir (a relative path) and each rodata path linked (not copied) to
# its synced tree, and a status file naming the job and the time. Prints
# "snapshot DIGEST" (the digest of the code).
cmd_snapshot() {
    [ $# -ge 4 ] || usage_die "usage: snapshot PROJECT RUN_ID JOB OUTPUT [RODATA_PATH KEY]..."
    sync_init
    sync_check_name "$1"
    sync_check_name "$2"
    sync_check_name "$3"
    sync_check_rel "$4"
    _runs=$TCCP_ROOT/projects/$1/runs
    _run=$_runs/$2
    mkdir -p "$_runs" || die "cannot create '$_runs'"
    [ ! -e "$_run" ] || die "run '$2' exists already"
    SYNC_STAGE=$_runs/.$2.partial
    rm -rf "$SYNC_STAGE"
    sync_snapshot_tree "$1" "$SYNC_STAGE"
    _job=$3
    _output=$4
    shift 4
    while [ $# -ge 2 ]; do
        sync_check_rel "$1"
        sync_check_name "$2"
        sync_link_in "$SYNC_STAGE" "$1" 2 "rodata/$2/tree"
        shift 2
    done
    rm -rf "${SYNC_STAGE:?}/$_output"
    mkdir -p "$SYNC_STAGE/$_output" || die "cannot create the output dir '$_output'"
    printf 'job=%s\ncreated_at=%s\ncode_digest=%s\n' "$_job" \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SYNC_SNAPSHOT_DIGEST" >"$SYNC_STAGE/status"
    mv "$SYNC_STAGE" "$_run" || die "cannot create '$_run'"
    SYNC_STAGE=
    printf 'snapshot %s\n' "$SYNC_SNAPSHOT_DIGEST"
}

# sync_latest_run PROJECT_DIR JOB: the id of the newest run of JOB (the
# launch side's runs/.latest-JOB, else the newest created_at).
sync_latest_run() {
    if [ -f "$1/runs/.latest-$2" ]; then
        cat "$1/runs/.latest-$2"
        return 0
    fi
    for _d in "$1"/runs/*; do
        [ -f "$_d/status" ] || continue
        [ "$(sync_status_get "$_d" job)" = "$2" ] || continue
        printf '%s %s\n' "$(sync_status_get "$_d" created_at)" "${_d##*/}"
    done | sort | tail -n 1 | sed 's/^[^ ]* //'
}

# cmd_output_list PROJECT RUN_ID JOB OUTPUT: lists the OUTPUT dir of a run
# (RUN_ID empty: the newest run of JOB). First "run ID CREATED_AT JOB", then
# one NUL-terminated record per path: "TYPE TAB SIZE TAB MTIME TAB MODE TAB
# ./PATH".
cmd_output_list() {
    [ $# -eq 4 ] || usage_die "usage: output_list PROJECT RUN_ID JOB OUTPUT"
    sync_init
    sync_check_name "$1"
    sync_check_rel "$4"
    _p=$TCCP_ROOT/projects/$1
    _id=$2
    if [ -z "$_id" ]; then
        sync_check_name "$3"
        _id=$(sync_latest_run "$_p" "$3")
        [ -n "$_id" ] || die "no run of job '$3' in project '$1'"
    fi
    sync_check_name "$_id"
    _run=$_p/runs/$_id
    [ -d "$_run" ] || die "no run '$_id' in project '$1'"
    _at=$(sync_status_get "$_run" created_at)
    _job=$(sync_status_get "$_run" job)
    printf 'run %s %s %s\n' "$_id" "${_at:--}" "${_job:--}"
    [ -d "$_run/$4" ] || return 0
    cd "$_run/$4" || die "cannot enter '$_run/$4'"
    find . -mindepth 1 \( -type f -o -type l -o -type d \) -printf '%y\t%s\t%T@\t%m\t%p\0'
}

# cmd_output_send PROJECT RUN_ID OUTPUT [OFFSET PATH]...: sends output
# files. First, for each OFFSET PATH pair (a file to resume), "part OFFSET
# LENGTH" and its bytes from OFFSET (or "gone"); then "tar" and a tar
# stream of the paths read NUL-separated from stdin.
cmd_output_send() {
    [ $# -ge 3 ] || usage_die "usage: output_send PROJECT RUN_ID OUTPUT [OFFSET PATH]..."
    sync_init
    sync_check_name "$1"
    sync_check_name "$2"
    sync_check_rel "$3"
    cd "$TCCP_ROOT/projects/$1/runs/$2/$3" || die "run '$2' has no output"
    shift 3
    while [ $# -ge 2 ]; do
        _off=$1
        _f=$2
        shift 2
        sync_check_rel "$_f"
        if [ ! -f "$_f" ] || [ -L "$_f" ]; then
            printf 'gone\n'
            continue
        fi
        _size=$(stat -c %s -- "$_f") || die "cannot stat '$_f'"
        case $_off in
            '' | *[!0-9]*) _off=0 ;;
        esac
        [ "$_off" -le "$_size" ] || _off=0
        printf 'part %s %s\n' "$_off" "$((_size - _off))"
        tail -c +"$((_off + 1))" -- "$_f" | head -c "$((_size - _off))"
    done
    printf 'tar\n'
    tar -cf - --no-recursion --null -T -
}

# sync_run_ended RUN_DIR: the run's status says it ended.
sync_run_ended() {
    case $(sync_status_get "$1" state) in
        finished | failed | cancelled | lost | timeout | killed) return 0 ;;
        *) return 1 ;;
    esac
}

# cmd_output_clean PROJECT OUTPUT [JOB]: deletes the OUTPUT dir of every
# ended run but the newest of each job (of JOB only, when given). Prints
# "cleaned RUN_ID" for each.
cmd_output_clean() {
    [ $# -ge 2 ] || usage_die "usage: output_clean PROJECT OUTPUT [JOB]"
    sync_init
    sync_check_name "$1"
    sync_check_rel "$2"
    _p=$TCCP_ROOT/projects/$1
    [ -d "$_p/runs" ] || return 0
    for _d in "$_p"/runs/*; do
        _job=$(sync_status_get "$_d" job)
        [ -n "$_job" ] || continue
        if [ $# -ge 3 ] && [ "$_job" != "$3" ]; then
            continue
        fi
        if [ ! -d "$_d/$2" ] || [ -L "$_d/$2" ]; then
            continue
        fi
        [ "$(sync_latest_run "$_p" "$_job")" != "${_d##*/}" ] || continue
        sync_run_ended "$_d" || continue
        rm -rf "${_d:?}/$2" && printf 'cleaned %s\n' "${_d##*/}"
    done
    return 0
}
