#!/bin/bash
# Faults on the host side, each on a pod of its own: the shim SIGKILLed while a Create boots the
# VM and while an exec runs (containerd then runs the shim's `delete`, from the pod's state on
# disk); containerd restarted while a pod runs (the pod must stay, and exec, kill and delete must
# work after); /run/secure-container full during a Create (a clear error, nothing left). Prints
# the times; the leftover check at the end fails the test on anything left (README.md, "What we
# promise").
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup
testenv_runtime_is_vm || testenv_skip "the shim's faults are the VM runtime's"

now_ms() { date +%s%3N; }

# The shim of container $1.
shim_of() {
    testenv_our_processes '^containerd-shim-secure-v2$' | while read -r pid _; do
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-id $1 " && echo "$pid"
    done
}
task_gone() { [ -z "$(testenv_task_status "$1")" ]; }
# ctr's fifos of a task (or exec) whose shim died are the client's to remove: ctr removes them
# only when the task (or exec) ends normally.
remove_fifos() {
    local fifo
    for fifo in /run/containerd/fifo/*/"$1"-stdout; do
        [ -e "$fifo" ] && rm -rf "$(dirname "$fifo")"
    done
    return 0
}

# The shim SIGKILLed mid-Create: once QEMU runs, before the agent has answered.
sc_ctr run --runtime "$SC_RUNTIME" -d "$IMAGE" create-kill sleep 100000 \
    >"$TESTENV_DIR/create-kill.out" 2>&1 &
run=$!
qemu_up() { testenv_our_processes '^qemu-system-' | grep -q .; }
testenv_wait_until 60 qemu_up || testenv_fail "mid-Create: QEMU never started"
shim=$(shim_of create-kill)
[ -n "$shim" ] || testenv_fail "mid-Create: no shim for 'create-kill'"
start=$(now_ms)
kill -KILL "$shim"
wait "$run" && testenv_fail "mid-Create: ctr run succeeded: $(cat "$TESTENV_DIR/create-kill.out")"
echo "# shim SIGKILLed mid-Create: ctr run failed $(($(now_ms) - start)) ms after the kill:" \
    "$(head -c 160 "$TESTENV_DIR/create-kill.out")" >&2
sc_ctr task delete create-kill >/dev/null 2>&1
sc_ctr container delete create-kill || testenv_fail "mid-Create: container delete failed"
remove_fifos create-kill
testenv_wait_until 30 eval '! qemu_up' || testenv_fail "mid-Create: QEMU outlived its shim's delete"

# The shim SIGKILLed mid-Exec: an attached exec runs when the shim dies.
sc_run_detached exec-kill sleep 100000 || testenv_fail "'exec-kill' did not start"
sc_ctr task exec --exec-id e exec-kill sh -c 'echo started; exec sleep 100000' \
    >"$TESTENV_DIR/exec.out" 2>&1 &
exec_run=$!
exec_started() { grep -q started "$TESTENV_DIR/exec.out"; }
testenv_wait_until 60 exec_started || testenv_fail "mid-Exec: the exec never started"
start=$(now_ms)
kill -KILL "$(shim_of exec-kill)"
wait "$exec_run" && testenv_fail "mid-Exec: the exec's ctr succeeded"
echo "# shim SIGKILLed mid-Exec: the exec's ctr returned $(($(now_ms) - start)) ms after the kill" >&2
testenv_wait_until 60 task_gone exec-kill || testenv_fail "mid-Exec: containerd kept the task"
echo "# shim SIGKILLed mid-Exec: containerd had deleted the task $(($(now_ms) - start)) ms after" \
    "the kill (polled every 0.2 s)" >&2
sc_ctr container delete exec-kill || testenv_fail "mid-Exec: container delete failed"
remove_fifos exec-kill
remove_fifos e

# containerd restarted while a pod runs: the pod stays, and containerd manages it again.
sc_run_detached restart sleep 100000 || testenv_fail "'restart' did not start"
qemu=$(testenv_our_processes '^qemu-system-' | cut -d' ' -f1)
private_containerd_kill_wait "$CONTAINERD_PID" TERM 30 || testenv_fail "containerd did not stop"
kill -0 "$qemu" || testenv_fail "the pod's QEMU went with containerd"
start=$(now_ms)
private_containerd_start "$TESTENV_DIR" || testenv_fail "containerd did not start again"
assert_eq "an exec after the restart" after-restart \
    "$(sc_ctr task exec --exec-id r restart echo after-restart)"
echo "# containerd restarted: an exec answered $(($(now_ms) - start)) ms after containerd was" \
    "started again" >&2
kill -0 "$qemu" || testenv_fail "the pod's QEMU is not the one from before the restart"
sc_ctr task kill -s SIGKILL restart || testenv_fail "kill after the restart failed"
testenv_wait_status restart STOPPED 30 || testenv_fail "the task did not stop after the restart"
sc_ctr task delete restart || testenv_fail "task delete after the restart failed"
sc_ctr container delete restart || testenv_fail "container delete after the restart failed"

# /run/secure-container full during a Create: it fails, saying so, and leaves nothing. (The test's
# own tmpfs there, in its own mount namespace: testenv_isolate_run.)
[ "${TESTENV_OWN_MOUNTS:-}" = "$$" ] || testenv_fail "no mount namespace of the test's own"
# The last pod's shim removes its directory after the Delete reply: filling the tmpfs before
# that would leave room once it has.
run_empty() { [ -z "$(ls -A /run/secure-container)" ]; }
testenv_wait_until 60 run_empty || testenv_fail "/run/secure-container kept: $(ls -A /run/secure-container)"
mount -o remount,size=1m /run/secure-container || testenv_fail "cannot shrink the test's /run tmpfs"
dd if=/dev/zero of=/run/secure-container/filler bs=4k 2>/dev/null
out=$(sc_run full true 2>&1) && testenv_fail "a pod started on a full /run/secure-container: $out"
assert_match "why the pod did not start" 'No space left on device' "$out"
assert_match "where the rest is" "more in containerd's log, lines with runtime=secure pod=[0-9a-f]{16}" \
    "$out"
echo "# /run/secure-container full: ctr run failed: ${out:0:200}" >&2
sc_ctr container delete full >/dev/null 2>&1
left=$(find /run/secure-container -mindepth 1 ! -name filler)
[ -z "$left" ] || testenv_fail "a failed Create left: $left"
rm -f /run/secure-container/filler
mount -o remount,size=64m /run/secure-container
assert_eq "a pod once there is room" room "$(sc_run room echo room)"
