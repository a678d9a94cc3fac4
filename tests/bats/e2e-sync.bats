#!/usr/bin/env bats
# tccp-sync end to end on the local SLURM cluster: the real SSH transport,
# the helper under dash on the login host, as tccpuser (not root).

load helpers/common
load helpers/cluster

setup_file() { cluster_setup_file; }

setup() {
    common_setup
    cluster_require
    if [ ! -x "$TCCP_BIN_DIR/tccp-connect" ]; then
        skip "needs the SSH transport (tccp-connect), not in this build"
    fi
    ROOT_REL=.tccp-e2e-sync-$BATS_TEST_NUMBER-$$
    REMOTE=$TCCP_CLUSTER_HOME/$ROOT_REL
    global_config <<EOF2
cluster:
  host: $TCCP_CLUSTER_HOST
  port: $TCCP_CLUSTER_KEY_PORT
  user: $TCCP_CLUSTER_USER
  identity_files: [$TCCP_CLUSTER_KEY]
  known_hosts: $TCCP_CLUSTER_KNOWN_HOSTS
  remote_root: ~/$ROOT_REL
EOF2
    P="$BATS_TEST_TMPDIR/proj"
    make_project "$P"
    printf 'print("hi")\n' >"$P/main.py"
    cd "$P"
}

teardown() {
    cluster_xu login rm -rf "$REMOTE" 2>/dev/null || true
    cluster_teardown
}

tree() { printf '%s\n' "$REMOTE/projects/proj/tree"; }

@test "e2e-sync: 10,000 files: unchanged push and one changed file are one round trip each" {
    for d in $(seq 1 100); do
        mkdir "d$d"
        (cd "d$d" && seq 1 100 | sed 's/^/f/; s/$/.py/' | xargs touch)
    done
    find . -exec touch -h -d '1 hour ago' {} +
    run -0 --separate-stderr tccp-sync push
    assert_equal "$(jq -r .data.sync.files_total <<<"$output")" 10002
    run -0 --separate-stderr tccp-sync push
    assert_equal "$(jq -r .data.sync.round_trips <<<"$output")" 1
    assert_equal "$(jq -r .data.sync.files_sent <<<"$output")" 0
    printf 'changed\n' >d42/f7.py
    touch -d '1 hour ago' d42/f7.py
    run -0 --separate-stderr tccp-sync push
    assert_equal "$(jq -r .data.sync.round_trips <<<"$output")" 1
    assert_equal "$(jq -r .data.sync.files_sent <<<"$output")" 1
    assert_equal "$(jq -r .data.sync.bytes_sent <<<"$output")" 8
    [ "$(cat "$(tree)/d42/f7.py")" = changed ]
}

@test "e2e-sync: deletes, exec bits, odd names and a private env file on the cluster" {
    printf '#!/bin/sh\n' >run.sh
    chmod 755 run.sh
    printf 'TOKEN=e2e-s3cr3t\n' >.env
    printf '.env\n' >.gitignore
    printf 'q\n' >"it's \$(odd) & ;.py"
    printf 'g\n' >gone.py
    run -0 --separate-stderr tccp-sync push
    rm gone.py
    run -0 --separate-stderr tccp-sync push
    [[ "$output$stderr" != *s3cr3t* ]]
    [ ! -e "$(tree)/gone.py" ]
    [ "$(stat -c %a "$(tree)/.env")" = 600 ]
    [ "$(stat -c %U "$(tree)/.env")" = "$TCCP_CLUSTER_USER" ]
    [ -x "$(tree)/run.sh" ]
    cmp "it's \$(odd) & ;.py" "$(tree)/it's \$(odd) & ;.py"
}

@test "e2e-sync: a connection cut in the middle of a 100 MB push leaves the tree; the next push completes" {
    run -0 --separate-stderr tccp-sync push
    digest=$(cat "$REMOTE/projects/proj/digest")
    head -c 104857600 /dev/urandom >big.bin
    tccp-sync push >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
    pid=$!
    wait_until 60 sh -c "ls -d '$REMOTE'/projects/proj/stage.* >/dev/null 2>&1 && [ \$(du -sm '$REMOTE'/projects/proj/stage.* | cut -f1) -gt 20 ]"
    kill -KILL "$pid"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 137 ]
    [ "$(cat "$REMOTE/projects/proj/digest")" = "$digest" ]
    [ ! -e "$(tree)/big.bin" ]
    run -0 --separate-stderr tccp-sync push
    cmp big.bin "$(tree)/big.bin"
}

@test "e2e-sync: a run's snapshot is unchanged by a later push; 1 GB and 1,000 files of output come back intact" {
    printf 'v1\n' >model.py
    run -0 --separate-stderr tccp-sync push
    run -0 --separate-stderr tccp-sync snapshot --run r1 --job main
    printf 'v2\n' >model.py
    run -0 --separate-stderr tccp-sync push
    [ "$(cat "$REMOTE/projects/proj/runs/r1/model.py")" = v1 ]
    cluster_xu login sh -c "mkdir -p '$REMOTE/projects/proj/runs/r1/output/many' && cd '$REMOTE/projects/proj/runs/r1/output' && head -c 1073741824 /dev/urandom >big.bin && for i in \$(seq 1 1000); do echo \$i >many/\$i.txt; done"
    run -0 --separate-stderr tccp-sync pull main
    assert_equal "$(jq -r .data.pulled.files_fetched <<<"$output")" 1001
    cmp output/main/latest/big.bin "$REMOTE/projects/proj/runs/r1/output/big.bin"
    diff -r output/main/latest/many "$REMOTE/projects/proj/runs/r1/output/many"
}
