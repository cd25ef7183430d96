#!/bin/bash
# `ctr task pause` freezes the container and `resume` lets it go on; the status says which.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

counter='i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.1; done'
sc_run_detached frozen sh -c "$counter" || testenv_fail "start failed"

sc_ctr task pause frozen || testenv_fail "pause failed"
assert_eq "status after pause" PAUSED "$(testenv_task_status frozen)"
sc_ctr task exec --exec-id while-paused frozen true 2>/dev/null \
    && testenv_fail "exec into a paused container succeeded"

sc_ctr task resume frozen || testenv_fail "resume failed"
assert_eq "status after resume" RUNNING "$(testenv_task_status frozen)"
before=$(sc_ctr task exec --exec-id c1 frozen cat /tmp/count) || testenv_fail "exec failed"
sleep 2
after=$(sc_ctr task exec --exec-id c2 frozen cat /tmp/count) || testenv_fail "exec failed"
[ "$after" -gt "$before" ] || testenv_fail "counter did not advance after resume: $before -> $after"
sc_remove frozen
