#!/bin/bash
# `ctr task exec` runs a second process in a running container: same filesystem, same PID
# namespace, its own output and exit code.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

sc_run_detached box sh -c 'echo ready >/tmp/mark; exec sleep 1000' || testenv_fail "start failed"
testenv_wait_pid1 box "sleep 1000"

out=$(sc_ctr task exec --exec-id e1 box sh -c 'echo in-exec; exit 5')
assert_eq "exec exit code" 5 "$?"
assert_eq "exec output" "in-exec" "$out"

out=$(sc_ctr task exec --exec-id e2 box cat /tmp/mark) || testenv_fail "exec cat failed"
assert_eq "file written by the container's first process" "ready" "$out"

out=$(printf 'via-stdin\n' | sc_ctr task exec --exec-id e4 box head -n 1) \
    || testenv_fail "exec with stdin failed"
assert_eq "exec stdin" "via-stdin" "$out"

# An exec whose child keeps its stdout open still ends: what it wrote before its exit arrives,
# and the pipe its child holds is given up after the shim's grace (VM runtime only: runc's shim
# is not what this tests).
if testenv_runtime_is_vm; then
    out=$(sc_ctr task exec --exec-id e5 box sh -c 'echo before-exit; sleep 1000 &') \
        || testenv_fail "exec with a child holding its stdout failed"
    assert_eq "output of an exec whose child keeps the pipe" "before-exit" "$out"
fi

assert_eq "task status after the execs" RUNNING "$(testenv_task_status box)"
sc_remove box
