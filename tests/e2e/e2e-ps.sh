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
two_processes() { [ "$(pids)" = 2 ]; }
testenv_wait_until 60 two_processes
assert_eq "processes after an exec" 2 "$(pids)"
distinct=$(sc_ctr task ps procs | awk 'NR > 1 && $1 > 0 { print $1 }' | sort -u | wc -l)
assert_eq "distinct pids listed" 2 "$distinct"
sc_remove procs
