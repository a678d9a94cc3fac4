#!/usr/bin/env bats
# tccp-sync on real files, with the cluster on this machine (`host: local`:
# the remote helper runs under /bin/sh against a temp "remote root").

load helpers/common

setup() {
    common_setup
    REMOTE="$BATS_TEST_TMPDIR/remote root"
    global_config <<EOF
cluster:
  host: local
  remote_root: $REMOTE
EOF
    install_helper "$REMOTE"
    P="$BATS_TEST_TMPDIR/proj"
    make_project "$P"
    printf 'print("hi")\n' >"$P/main.py"
    cd "$P"
}

# The helper is installed once per cluster and version (two round trips,
# the first time only, made by the first command that finds it missing);
# the pushes here are measured against a cluster that has it.
install_helper() {
    local script="${TCCP_BUILD_DIR:-$TCCP_SOURCE_DIR/build}/generated/tccp-remote"
    local hash
    hash=$(sha256sum "$script" | cut -c1-16)
    mkdir -p "$1/bin"
    install -m 700 "$script" "$1/bin/tccp-remote-$hash"
}

tree() { printf '%s\n' "$REMOTE/projects/proj/tree"; }

@test "sync: ls -z lists exactly what git ls-files lists, minus the built-ins" {
    git init -q .
    mkdir -p src/sub build logs node_modules/x __pycache__ data keep/inner
    printf 'a\n' >src/a.py
    printf 'b\n' >src/sub/b.pyc
    printf 'c\n' >build/out.o
    printf 'l\n' >logs/run.log
    printf 'n\n' >node_modules/x/i.js
    printf 'p\n' >__pycache__/m.pyc
    printf 'k\n' >keep.txt
    printf 'k\n' >keep/inner/k.txt
    printf 'h\n' >'#hash'
    printf 's\n' >'sp '
    printf 'x\n' >'we ird $name'
    printf '%s\n' '*.pyc' '/build' 'logs/' '*.txt' '!keep.txt' '\#hash' 'sp\ ' >.gitignore
    printf '%s\n' '!inner/' 'inner/*' '!inner/k.txt' >keep/.gitignore
    printf 'data/\n' >.git/info/exclude
    tccp-sync ls -z >"$BATS_TEST_TMPDIR/ours"
    ours=$(tr '\0' '\n' <"$BATS_TEST_TMPDIR/ours" | LC_ALL=C sort)
    theirs=$(GIT_CONFIG_GLOBAL=/dev/null git ls-files -z --cached --others --exclude-standard |
        tr '\0' '\n' | grep -v -e '^node_modules/' -e '^__pycache__/' | LC_ALL=C sort)
    assert_equal "$ours" "$theirs"
    [[ "$ours" == *"keep.txt"* ]]
    [[ "$ours" != *"sp "* ]]
    [[ "$ours" != *"#hash"* ]]
    [[ "$ours" != *"build/out.o"* ]]
}

@test "sync: ls lists one path per line, marking rodata and the env file" {
    printf 'rodata:\n  - data\nscript: main.py\n' >tccp.yaml
    mkdir data
    printf '1\n' >data/x.csv
    printf 'K=V\n' >.env
    printf '.env\ndata/\n' >.gitignore
    printf 'n\n' >"$(printf 'new\nline')"
    run -0 --separate-stderr tccp-sync ls
    assert_output "$(printf '.env\t[env]\n.gitignore\ndata/x.csv\t[rodata]\nmain.py\nnew\\x0aline\ntccp.yaml')"
    rm "$(printf 'new\nline')"
    run -0 --separate-stderr tccp-sync ls --json
    run -0 jq -r '.data.files[] | "\(.path) \(.rodata) \(.env)"' <<<"$output"
    assert_output - <<EOF
.env false true
.gitignore false false
data/x.csv true false
main.py false false
tccp.yaml false false
EOF
}

@test "sync: first push sends the tree in one round trip and previews it on stderr" {
    mkdir -p lib
    printf 'x = 1\n' >lib/util.py
    run -0 --separate-stderr tccp-sync push
    assert_equal "$(jq -r .type <<<"$output")" sync
    assert_equal "$(jq -r .data.sync.round_trips <<<"$output")" 1
    assert_equal "$(jq -r .data.sync.files_sent <<<"$output")" 4
    assert_equal "$(jq -r .data.sync.first_push <<<"$output")" true
    assert_equal "$(jq -r .data.sync.remote_tree <<<"$output")" "$REMOTE/projects/proj/tree"
    [[ "$stderr" == *"first push of this project: 3 files"* ]]
    cmp "$P/lib/util.py" "$(tree)/lib/util.py"
    # The digest is what the cluster keeps next to the tree.
    assert_equal "$(jq -r .data.sync.tree_digest <<<"$output")" \
        "$(cat "$REMOTE/projects/proj/digest")"
}

@test "sync: an unchanged project pushes no file bytes in one round trip" {
    run -0 --separate-stderr tccp-sync push
    touch -d '1 hour ago' main.py tccp.yaml
    run -0 --separate-stderr tccp-sync push
    run -0 --separate-stderr tccp-sync push
    assert_equal "$(jq -r .data.sync.files_sent <<<"$output")" 0
    assert_equal "$(jq -r .data.sync.bytes_sent <<<"$output")" 0
    assert_equal "$(jq -r .data.sync.round_trips <<<"$output")" 1
    assert_equal "$(jq -r .data.sync.files_hashed <<<"$output")" 0
    assert_equal "$stderr" ""
}

@test "sync: a job document goes through push enriched with the sync object" {
    run -0 --separate-stderr sh -c 'tccp-config resolve | tccp-sync push'
    assert_equal "$(jq -r .type <<<"$output")" job
    assert_equal "$(jq -r .data.job <<<"$output")" main
    assert_equal "$(jq -r .data.project <<<"$output")" proj
    assert_equal "$(jq -r '.data.sync | keys | join(",")' <<<"$output")" \
        "bytes_sent,bytes_total,deferred,deleted,duration_ms,files_hashed,files_sent,files_total,first_push,remote_tree,rodata,round_trips,stream_bytes,tree_digest"
}

@test "sync: an upstream error document passes through with its exit code" {
    printf 'memmory: 4G\n' >>tccp.yaml
    run -3 --separate-stderr sh -c 'tccp-config resolve | tccp-sync push'
    assert_equal "$(jq -r .type <<<"$output")" error
    assert_equal "$(jq -r .data.exit_code <<<"$output")" 3
    [ ! -e "$REMOTE/projects" ]
}

@test "sync: the env file is 0600 on the cluster and its contents appear in no output" {
    printf 'API_KEY=tccp-s3cr3t-4242\n' >.env
    chmod 644 .env
    printf '.env\n' >.gitignore
    run -0 --separate-stderr tccp-sync push -v
    [ "$(stat -c %a "$(tree)/.env")" = 600 ]
    grep -q tccp-s3cr3t-4242 "$(tree)/.env"
    [[ "$output$stderr" != *s3cr3t* ]]
    run -0 --separate-stderr tccp-sync ls
    [[ "$output$stderr" != *s3cr3t* ]]
    ! grep -r -q tccp-s3cr3t-4242 "$TCCP_HOME"
}

@test "sync: exec bits, symlinks and odd names arrive as they are" {
    printf '#!/bin/sh\n' >run.sh
    chmod 755 run.sh
    ln -s main.py alias.py
    mkdir 'dir with space'
    printf 'q\n' >"dir with space/it's \$(x) & ;.py"
    printf 'u\n' >"$(printf 'caf\303\251.py')"
    run -0 --separate-stderr tccp-sync push
    [ -x "$(tree)/run.sh" ]
    [ "$(readlink "$(tree)/alias.py")" = main.py ]
    cmp "dir with space/it's \$(x) & ;.py" "$(tree)/dir with space/it's \$(x) & ;.py"
    cmp "$(printf 'caf\303\251.py')" "$(tree)/$(printf 'caf\303\251.py')"
}

@test "sync: deletes propagate" {
    mkdir -p old/sub
    printf 'o\n' >old/sub/o.py
    printf 'g\n' >gone.py
    run -0 --separate-stderr tccp-sync push
    rm -r old gone.py
    run -0 --separate-stderr tccp-sync push
    assert_equal "$(jq -r .data.sync.deleted <<<"$output")" 4
    [ ! -e "$(tree)/old" ]
    [ ! -e "$(tree)/gone.py" ]
    [ -f "$(tree)/main.py" ]
}

@test "sync: a symlink leaving the project is refused, saying which and what to do" {
    ln -s /etc/hostname host
    run -1 --separate-stderr tccp-sync push
    assert_equal "$stderr" "tccp-sync: error: symlink 'host' points outside the project (to '/etc/hostname')
hint: add '/host' to .tccpignore, or replace the link by a copy; data directories can be listed under \`rodata:\`"
    printf '/host\n' >.tccpignore
    run -0 --separate-stderr tccp-sync push
}

@test "sync: a big project warns and suggests an ignore line" {
    mkdir frames
    (cd frames && seq 1 10001 | sed 's/$/.png/' | xargs touch)
    run -0 --separate-stderr tccp-sync ls --json
    run -0 --separate-stderr tccp-sync push
    [[ "$stderr" == *"warning: this project is big: 10003 files"* ]]
    [[ "$stderr" == *"add this line to .tccpignore:  /frames/"* ]]
}

@test "sync: on a terminal a push prints one summary line" {
    run -0 --separate-stderr tccp-sync push
    printf 'print("changed")\n' >main.py
    run -0 on_tty tccp-sync push -q
    assert_output --regexp '^pushed 1 file \(17 B\) \(1 round trip, [0-9]+ ms\)$'
}

@test "sync: pull brings a run's output to output/<job>/<time>/ with latest" {
    run -0 --separate-stderr tccp-sync push
    run -0 --separate-stderr tccp-sync snapshot --run r1 --job main
    out="$REMOTE/projects/proj/runs/r1/output"
    printf 'created_at=2026-02-15T10:30:00Z\n' >>"$REMOTE/projects/proj/runs/r1/status"
    mkdir -p "$out/ckpt"
    head -c 300000 /dev/urandom >"$out/ckpt/model.pt"
    printf 'done\n' >"$out/log.txt"
    run -0 --separate-stderr tccp-sync pull main
    assert_equal "$(jq -r .data.pulled.files_fetched <<<"$output")" 2
    assert_equal "$(jq -r .data.pulled.round_trips <<<"$output")" 2
    [ "$(readlink output/main/latest)" = 2026-02-15T10-30-00Z ]
    cmp "$out/ckpt/model.pt" output/main/latest/ckpt/model.pt
    run -0 --separate-stderr tccp-sync pull main
    assert_equal "$(jq -r .data.pulled.files_fetched <<<"$output")" 0
    assert_equal "$(jq -r .data.pulled.round_trips <<<"$output")" 1
}

@test "sync: pull without a job when the project has several says so" {
    printf 'jobs:\n  a: a.py\n  b: b.py\n' >tccp.yaml
    run -2 --separate-stderr tccp-sync pull
    [[ "$stderr" == "tccp-sync: error: "* ]]
}

@test "sync: clean keeps the latest output per job" {
    run -0 --separate-stderr tccp-sync push
    for r in r1 r2; do
        run -0 --separate-stderr tccp-sync snapshot --run "$r" --job main
        printf 'state=finished\n' >>"$REMOTE/projects/proj/runs/$r/status"
        printf '%s\n' "$r" >"$REMOTE/projects/proj/runs/$r/output/which"
    done
    printf 'created_at=2026-01-01T00:00:01Z\n' >>"$REMOTE/projects/proj/runs/r1/status"
    printf 'created_at=2026-01-01T00:00:02Z\n' >>"$REMOTE/projects/proj/runs/r2/status"
    run -0 --separate-stderr tccp-sync pull main --run r1
    run -0 --separate-stderr tccp-sync pull main --run r2
    run -0 --separate-stderr tccp-sync clean
    assert_equal "$(jq -c .data.remote_cleaned <<<"$output")" '["r1"]'
    assert_equal "$(ls output/main)" "$(printf '2026-01-01T00-00-02Z\nlatest')"
    assert_equal "$(cat output/main/latest/which)" r2
    [ ! -e "$REMOTE/projects/proj/runs/r1/output" ]
}

@test "sync: push --progress is a JSON Lines stream ending in one result" {
    head -c 3000000 /dev/urandom >blob.bin
    run -0 --separate-stderr tccp-sync push --progress
    run -0 jq -r .type <<<"$output"
    assert_equal "$(sort -u <<<"$output")" "$(printf 'progress\nresult')"
    assert_equal "$(tail -n 1 <<<"$output")" result
    run -0 --separate-stderr tccp-sync push --progress
    assert_equal "$(jq -c '.data | {ok, files_sent}' <<<"$output")" '{"ok":true,"files_sent":0}'
}

@test "sync: a long push shows a progress bar on a terminal, and only there" {
    truncate -s 300M big.bin
    run -0 on_tty tccp-sync push
    [[ "$output" == *"pushing ["*"%"* ]]
    truncate -s 301M big.bin
    run -0 --separate-stderr tccp-sync push
    [[ "$stderr" != *"pushing ["* ]]
}

@test "sync: memory stays flat: a 1 GiB push and a 1 GiB pull each stay under 64 MiB" {
    run -0 --separate-stderr tccp-sync push
    truncate -s 1G huge.bin
    printf 'x\n' | dd of=huge.bin bs=1M seek=700 conv=notrunc status=none
    run -0 --separate-stderr /usr/bin/time -f 'maxrss_kb=%M' tccp-sync push
    assert_equal "$(jq -r .data.sync.bytes_sent <<<"$output")" $((1 << 30))
    rss=$(sed -n 's/^maxrss_kb=//p' <<<"$stderr")
    [ "$rss" -lt 65536 ] || { echo "push max RSS ${rss} KiB"; return 1; }
    cmp huge.bin "$(tree)/huge.bin"

    rm huge.bin
    run -0 --separate-stderr tccp-sync snapshot --run big --job main
    ln "$(tree)/huge.bin" "$REMOTE/projects/proj/runs/big/output/huge.bin"
    run -0 --separate-stderr /usr/bin/time -f 'maxrss_kb=%M' tccp-sync pull main
    assert_equal "$(jq -r .data.pulled.bytes_fetched <<<"$output")" $((1 << 30))
    rss=$(sed -n 's/^maxrss_kb=//p' <<<"$stderr")
    [ "$rss" -lt 65536 ] || { echo "pull max RSS ${rss} KiB"; return 1; }
    cmp output/main/latest/huge.bin "$REMOTE/projects/proj/runs/big/output/huge.bin"
}

# make_links FROM TO: files FROM..TO-1 (100 a directory), hard links to one
# empty file: cheap to make, pushed as files. Every file is then settled in
# the past, so that a push finds each one in the index.
make_links() {
    python3 - "$1" "$2" <<'PY'
import os, sys
for i in range(int(sys.argv[1]), int(sys.argv[2])):
    d = "src/d%03d" % (i // 100)
    os.makedirs(d, exist_ok=True)
    os.link("empty", "%s/f%05d.py" % (d, i))
PY
    touch -d '1 hour ago' empty main.py tccp.yaml
}

# noop_rss: $rss, the max RSS (KiB) of a push that finds nothing to do.
noop_rss() {
    run -0 --separate-stderr /usr/bin/time -f 'maxrss_kb=%M' tccp-sync push
    assert_equal "$(jq -r '[.data.sync.files_sent, .data.sync.files_hashed] | @tsv' <<<"$output")" \
        "$(printf '0\t0')"
    rss=$(sed -n 's/^maxrss_kb=//p' <<<"$stderr")
}

@test "sync: a push of an unchanged project needs no more memory for 5,000 files than for 500" {
    : >empty
    make_links 0 500
    run -0 --separate-stderr tccp-sync push
    noop_rss
    small=$rss
    make_links 500 5000
    run -0 --separate-stderr tccp-sync push
    assert_equal "$(jq -r .data.sync.files_total <<<"$output")" 5003
    noop_rss
    large=$rss
    # Nothing of the tree is held: not a file's manifest line, index record
    # or path (together 1.8 KiB a file once: 8 MiB more here).
    [ $((large - small)) -lt 1024 ] || {
        echo "max RSS ${small} KiB at 500 files, ${large} KiB at 5,000"
        return 1
    }
}
