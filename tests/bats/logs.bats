#!/usr/bin/env bats
# tccp-logs: logs, tail, follow, init logs, output in $EDITOR, attach (off a
# terminal: follow and exit with the program's status) and view (a pty:
# input reaches the program, Ctrl+\ detaches, history on re-attach, Ctrl+C
# reaches the program). The tools run on login with `host: local`.

load 'helpers/common'
load 'helpers/cluster'
load 'helpers/jobs'

setup_file() {
  jobs_setup_file logs
  cluster_is_root || return 0
  sync_tree
}

teardown_file() {
  jobs_teardown_file
}

setup() {
  common_setup
}

# login_script: a script that runs its arguments like on_login (for expect).
login_script() {
  local f=$BATS_TEST_TMPDIR/on-login
  {
    echo '#!/bin/bash'
    declare -p TCCP_CLUSTER_RUN JOBS_BIN JOBS_DIR JOBS_USER_HOME JOBS_HOME
    declare -f jobs_login_pid on_login
    echo 'on_login "$@"'
  } >"$f"
  chmod +x "$f"
  echo "$f"
}

@test "logs: attach without a started run in the document is a protocol error" {
  run -4 --separate-stderr tccp-logs attach <<<'{"tccp":"1.0","type":"job","data":{"project":"p","cluster":{"host":"local"}}}'
  [[ "$stderr" == *'the job document has no "run"'* ]]
}

@test "logs: logs, tail, tail N and init show a finished run's output" {
  jobs_setup
  run -0 --separate-stderr run_job tick 40
  run -0 --separate-stderr on_login tccp-logs logs tick
  assert_equal "${#lines[@]}" 40
  assert_equal "${lines[0]}" "tick 0"
  assert_equal "${lines[39]}" "tick 39"
  run -0 --separate-stderr on_login tccp-logs tail tick
  assert_equal "${#lines[@]}" 30
  assert_equal "${lines[0]}" "tick 10"
  run -0 --separate-stderr on_login tccp-logs tail tick 3
  assert_output "$(printf 'tick 37\ntick 38\ntick 39')"
  run -0 --separate-stderr on_login tccp-logs tail -n 2 tick
  assert_output "$(printf 'tick 38\ntick 39')"
  run -0 --separate-stderr on_login tccp-logs init tick
  assert_output --partial "[tccp] runtime: host python"
  assert_output --partial "[tccp] venv: "
  assert_output --partial "[tccp] workdir: ok"
  # The verb of the guide works too.
  run -0 --separate-stderr on_login tccp initlogs tick
  assert_output --partial "[tccp] python: "
}

@test "logs: --follow streams a running run to its end and exits with its status" {
  jobs_setup
  run -0 --separate-stderr on_login_sh "tccp-config resolve main | tccp-alloc -q ensure | tccp-sync -q push | tccp-launch start -- exit=7 >/dev/null"
  run -7 --separate-stderr on_login tccp-logs logs main --follow
  assert_output --partial 'SEEN {"argv": ["exit=7"]'
  run -0 --separate-stderr on_login_sh "tccp-config resolve tick | tccp-alloc -q ensure | tccp-sync -q push | tccp-launch start -- 25 >/dev/null"
  run -0 --separate-stderr on_login tccp-logs tail tick 2 --follow
  assert_equal "${lines[-1]}" "tick 24"
}

@test "logs: output opens the run's log in \$EDITOR" {
  jobs_setup
  run -0 --separate-stderr run_job tick 3
  run -0 --separate-stderr env EDITOR="sh -c 'echo EDITING \$1; cat \$1' sh" bash -c "$(declare -f jobs_login_pid on_login); on_login tccp-logs output tick"
  assert_line --index 0 --regexp '^EDITING /tmp/tccp-output.*/tick-.*\.log$'
  assert_line --index 1 "tick 0"
  assert_line --index 3 "tick 2"
}

@test "logs: view sends input to the program, Ctrl+\\ detaches, re-attach shows history, Ctrl+C reaches it" {
  jobs_setup
  local login
  login=$(login_script)
  cat >"$BATS_TEST_TMPDIR/view.exp" <<EOF
set timeout 30
spawn $login sh -c {tccp-config resolve echo | tccp-alloc -q ensure | tccp-sync -q push | tccp-launch -q start | tccp-logs attach; echo "attach-rc=\$?"}
expect "ready" {} timeout { puts "FAIL: no ready"; exit 1 }
send "hello world\r"
expect "got hello world" {} timeout { puts "FAIL: input did not reach the program"; exit 1 }
send "\034"
expect eof {} timeout { puts "FAIL: no detach"; exit 1 }
spawn $login sh -c {tccp-logs view echo; echo "view-rc=\$?"}
expect -re {attaching.*got hello world} {} timeout { puts "FAIL: no history"; exit 1 }
send "again\r"
expect "got again" {} timeout { puts "FAIL: input after re-attach"; exit 1 }
send "\003"
expect eof {} timeout { puts "FAIL: Ctrl+C did not end the program"; exit 1 }
EOF
  run -0 expect "$BATS_TEST_TMPDIR/view.exp"
  output=$(printf '%s' "$output" | tr -d '\r')
  assert_output --partial "$(printf '[detached]\n')"
  assert_output --partial "keeps running]"
  assert_output --partial "$(printf 'attach-rc=0\n')"
  assert_output --partial "KeyboardInterrupt"
  assert_output --partial "failed, exit code 130]"
  assert_output --partial "$(printf 'view-rc=130\n')"
  run -0 --separate-stderr on_login tccp-launch --json info echo
  assert_equal "$(json_field "$output" data.run.state)" failed
  assert_equal "$(json_field "$output" data.run.exit_code)" 130
}

@test "logs: view of a finished run prints its output and returns its exit code" {
  jobs_setup
  run -3 --separate-stderr run_job main exit=3
  local login
  login=$(login_script)
  run -3 script -qec "$login tccp-logs view main" /dev/null
  assert_output --partial 'SEEN {"argv": ["exit=3"]'
  assert_output --partial "failed, exit code 3]"
}
