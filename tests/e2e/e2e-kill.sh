#!/bin/bash
# `ctr task kill` delivers SIGTERM (handled: the handler's exit code comes back) and SIGKILL
# (exit status 128+9) to the container's first process.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

sc_run term sh -c 'trap "exit 42" TERM; echo started; while :; do sleep 0.1; done' \
    >"$TESTENV_DIR/term.out" &
runner=$!
# sh installs its trap before it prints.
started() { grep -q started "$TESTENV_DIR/term.out"; }
testenv_wait_until 120 started || testenv_fail "the container never printed 'started'"
sc_ctr task kill term || testenv_fail "kill (SIGTERM) failed"
wait "$runner"
assert_eq "exit status after SIGTERM" 42 "$?"

sc_run kill9 sleep 1000 &
runner=$!
testenv_wait_status kill9 RUNNING || testenv_fail "task did not start"
sc_ctr task kill -s SIGKILL kill9 || testenv_fail "kill -s SIGKILL failed"
wait "$runner"
assert_eq "exit status after SIGKILL" 137 "$?"

sc_run_detached stopped sleep 1000 || testenv_fail "task did not start"
sc_ctr task kill -s SIGKILL stopped || testenv_fail "kill -s SIGKILL failed"
testenv_wait_status stopped STOPPED || testenv_fail "killed task did not stop"
sc_ctr task delete stopped || testenv_fail "delete of a stopped task failed"
sc_ctr container delete stopped || testenv_fail "container delete failed"
