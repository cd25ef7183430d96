#!/bin/bash
# `ctr task pause` freezes the container and `resume` lets it go on; the status says which.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

# The count is replaced by a rename, so a reader never sees the file truncated and still empty.
counter='i=0; while :; do i=$((i+1)); echo $i >/tmp/count.new; mv -f /tmp/count.new /tmp/count; sleep 0.1; done'
sc_run_detached frozen sh -c "$counter" || testenv_fail "start failed"
counting() { sc_ctr task exec --exec-id "c0-$RANDOM" frozen test -s /tmp/count 2>/dev/null; }
testenv_wait_until 60 counting || testenv_fail "the counter never started"

sc_ctr task pause frozen || testenv_fail "pause failed"
assert_eq "status after pause" PAUSED "$(testenv_task_status frozen)"
# As with runc, an exec into a frozen container must fail, not hang. (ctr leaves the fifos of
# an exec it could not finish: keep them in the test's directory.)
TESTENV_CTR_TIMEOUT=30 sc_ctr task exec --fifo-dir "$TESTENV_DIR/fifo" --exec-id while-paused \
    frozen true 2>/dev/null
rc=$?
[ "$rc" -ne 0 ] || testenv_fail "exec into a paused container succeeded"
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    testenv_fail "exec into a paused container hung"
fi

sc_ctr task resume frozen || testenv_fail "resume failed"
assert_eq "status after resume" RUNNING "$(testenv_task_status frozen)"
before=$(sc_ctr task exec --exec-id c1 frozen cat /tmp/count) || testenv_fail "exec failed"
sleep 2
after=$(sc_ctr task exec --exec-id c2 frozen cat /tmp/count) || testenv_fail "exec failed"
[ "$after" -gt "$before" ] || testenv_fail "counter did not advance after resume: $before -> $after"
sc_remove frozen
