#!/bin/bash
# `ctr task ps` lists the container's processes, execs included.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

sc_run_detached procs sleep 1000 || testenv_fail "start failed"
pids() { sc_ctr task ps procs | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { n++ } END { print n + 0 }'; }
assert_eq "processes in a one-process container" 1 "$(pids)"

# ctr never removes the fifos of a detached exec: keep them in the test's directory.
sc_ctr task exec -d --fifo-dir "$TESTENV_DIR/fifo" --exec-id extra procs sleep 999 \
    || testenv_fail "exec -d failed"
sleep 1
assert_eq "processes after an exec" 2 "$(pids)"
sc_ctr task ps procs | grep -q 'extra' || testenv_fail "ps does not name the exec id 'extra'"
sc_remove procs
