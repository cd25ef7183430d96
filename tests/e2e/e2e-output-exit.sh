#!/bin/bash
# stdout, stderr and the exit code of a container come back to `ctr run` unchanged.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

out=$(sc_run out echo hello from the container) || testenv_fail "ctr run failed"
assert_eq "stdout" "hello from the container" "$out"

err=$(sc_run err sh -c 'echo to-stderr >&2' 2>&1 >/dev/null) || testenv_fail "ctr run failed"
assert_match "stderr" '^to-stderr$' "$err"

sc_run code sh -c 'exit 3'
assert_eq "exit code of sh -c 'exit 3'" 3 "$?"

sc_run truth true || testenv_fail "true exited $?"
