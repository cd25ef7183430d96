#!/bin/bash
# `ctr task metrics` decodes what the runtime returns: memory in use and the number of pids.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

sc_run_detached measured sh -c 'sleep 1001 & sleep 1002 & wait' || testenv_fail "start failed"
# RUNNING means sh runs; a slow guest takes a moment to fork the two sleeps.
three_processes() {
    [ "$(sc_ctr task ps measured | awk 'NR > 1 && $1 > 0' | wc -l)" = 3 ]
}
testenv_wait_until 60 three_processes || testenv_fail "ctr task ps never listed 3 processes"
out=$(sc_ctr task metrics measured) || testenv_fail "ctr task metrics failed"
printf '%s\n' "$out" >&2
memory=$(printf '%s\n' "$out" | awk '$1 == "memory.usage_in_bytes" || $1 == "memory.usage" { print $2 }')
pids=$(printf '%s\n' "$out" | awk '$1 == "pids.current" { print $2 }')
assert_match "memory in use" '^[1-9][0-9]*$' "$memory"
assert_eq "pids.current (sh and two sleeps)" 3 "$pids"
sc_remove measured
