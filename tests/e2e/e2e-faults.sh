#!/bin/bash
# Faults, each on a pod of its own: the guest kernel panics, QEMU is SIGKILLed, the shim is
# SIGKILLed. Each time containerd must see the task exit (the attached `ctr run` returns, with a
# failure status), the task and container must delete, and nothing may be left (the leftover
# check at the end). Prints how long each fault took to reach containerd; the figures are
# reported, not asserted (README.md, "Faults").
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup
testenv_runtime_is_vm || testenv_skip "the faults are the VM's (guest kernel, QEMU)"

# start_attached ID [CTR-FLAGS...] -- CMD...: an attached `ctr run` in the background (stdin
# from $attach_stdin), which writes the time it returned and its status to $TESTENV_DIR/ID.end.
attach_stdin=/dev/null
start_attached() {
    local id=$1
    shift
    (
        sc_ctr run --runtime "$SC_RUNTIME" "$@" >/dev/null 2>&1 <"$attach_stdin"
        status=$?
        echo "$(now_ms) $status" >"$TESTENV_DIR/$id.end"
    ) &
    testenv_wait_status "$id" RUNNING || testenv_fail "'$id' did not start"
}
now_ms() { date +%s%3N; }
ended() { [ -s "$TESTENV_DIR/$1.end" ]; }

# after_fault ID FAULT-START-MS NAME: waits for the attached run to return, checks its status
# and that the container deletes, and prints the time the fault took to reach containerd.
after_fault() {
    local id=$1 start=$2 name=$3 end status
    testenv_wait_until 60 ended "$id" || testenv_fail "$name: containerd never saw '$id' exit"
    read -r end status <"$TESTENV_DIR/$id.end"
    assert_ne "$name: the exit status of the attached run" 0 "$status"
    # The attached run deletes the task it ran; the container is left to delete.
    [ -z "$(testenv_task_status "$id")" ] || testenv_fail "$name: the task of '$id' is still there"
    sc_ctr container delete "$id" || testenv_fail "$name: container delete failed"
    echo "# $name: the attached ctr run had its exit (and had deleted the task)" \
        "$((end - start)) ms after the fault" >&2
}

# Processes of this test whose executable matches $1 and whose command line names pod $2.
pod_pid() {
    local pid exe
    while read -r pid exe; do
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" && echo "$pid"
    done < <(testenv_our_processes "$1")
    return 0
}

# A guest kernel panic: sysrq 'c' from a privileged container (root in the guest), once a line
# comes on its stdin. (Not from an exec: its Start could race the panic, and a ctr whose Start
# fails leaves its fifos.)
mkfifo "$TESTENV_DIR/panic.in"
exec 7<>"$TESTENV_DIR/panic.in"
attach_stdin=$TESTENV_DIR/panic.in
start_attached panic --privileged "$IMAGE" panic sh -c 'read -r go; echo c >/proc/sysrq-trigger'
attach_stdin=/dev/null
start=$(now_ms)
echo go >&7
after_fault panic "$start" "guest kernel panic (from the host's write of the trigger line)"
exec 7>&-

# QEMU SIGKILLed. The pods resume from a template, so QEMU's command line names no pod: this
# is the only QEMU of the test now.
start_attached qemu-kill "$IMAGE" qemu-kill sleep 100000
qemu=$(testenv_our_processes '^qemu-system-' | cut -d' ' -f1)
[ "$(echo "$qemu" | wc -w)" = 1 ] || testenv_fail "expected one QEMU, found: $qemu"
start=$(now_ms)
kill -KILL "$qemu"
after_fault qemu-kill "$start" "QEMU SIGKILLed"

# The shim SIGKILLed: containerd notices, runs the shim's `delete` from its state on disk (which
# stops the VM) and removes the task itself. (Detached: an attached ctr would only see its Wait
# call fail, and leave its fifos.)
sc_run_detached shim-kill sleep 100000 || testenv_fail "'shim-kill' did not start"
shim=$(pod_pid '^containerd-shim-secure-v2$' '-id shim-kill')
[ -n "$shim" ] || testenv_fail "no shim for 'shim-kill'"
start=$(now_ms)
kill -KILL "$shim"
task_gone() { [ -z "$(testenv_task_status shim-kill)" ]; }
testenv_wait_until 60 task_gone || testenv_fail "shim SIGKILLed: containerd kept the task"
echo "# shim SIGKILLed: containerd had cleaned the task up $(($(now_ms) - start)) ms after the" \
    "fault (polled every 0.2 s)" >&2
sc_ctr container delete shim-kill || testenv_fail "shim SIGKILLed: container delete failed"
# ctr's fifos for a detached task go with `ctr task delete`; containerd deleted this one itself,
# so they are the client's to remove (as with any runtime whose shim dies).
for fifo in /run/containerd/fifo/*/shim-kill-stdout; do
    rm -rf "$(dirname "$fifo")"
done
