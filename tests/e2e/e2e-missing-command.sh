#!/bin/bash
# A command that does not exist fails `ctr run` with an error naming it, and leaves no task,
# no container and (checked by the teardown) no process, mount or file behind.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

err=$(sc_run nocmd /no/such/command 2>&1 >/dev/null)
rc=$?
[ "$rc" -ne 0 ] || testenv_fail "ctr run of a missing command succeeded"
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    testenv_fail "ctr run of a missing command hung"
fi
printf '%s\n' "$err" >&2
assert_match "error text" '/no/such/command' "$err"
assert_match "error text" '[Nn]o such file|not found' "$err"
assert_eq "tasks left" "" "$(sc_ctr task list -q)"
assert_eq "containers left" "" "$(sc_ctr container list -q)"

out=$(sc_run after echo still-works) || testenv_fail "the next ctr run failed"
assert_eq "a run after the failure" still-works "$out"
