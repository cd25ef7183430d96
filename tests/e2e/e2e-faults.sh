#!/bin/bash
# Faults of the VM, each on a pod of its own: the guest kernel panics, QEMU is SIGKILLed, the
# guest hangs (QEMU stopped), virtiofsd is SIGKILLed, the shim is SIGKILLed, and VMs that never
# boot. Each time containerd must see the task exit (the attached `ctr run` returns, with a
# failure status) or the create fail, the task and container must delete, and nothing may be left
# (the leftover check at the end). Prints how long each fault took to reach containerd; the
# figures are reported, not asserted (README.md, "What we promise").
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

# The only QEMU of the test (each fault's pod is gone before the next starts).
only_qemu() {
    local qemu
    qemu=$(testenv_our_processes '^qemu-system-' | cut -d' ' -f1)
    [ "$(echo "$qemu" | wc -w)" = 1 ] || testenv_fail "expected one QEMU, found: '$qemu'"
    echo "$qemu"
}

# QEMU SIGKILLed.
start_attached qemu-kill "$IMAGE" qemu-kill sleep 100000
qemu=$(only_qemu)
start=$(now_ms)
kill -KILL "$qemu"
after_fault qemu-kill "$start" "QEMU SIGKILLed"

# A hung guest: QEMU stopped, so the agent's channel goes silent while QEMU lives. The shim's
# health check ([agent] health_timeout, every 3 s) must end the pod.
start_attached hang "$IMAGE" hang sleep 100000
qemu=$(only_qemu)
start=$(now_ms)
kill -STOP "$qemu"
after_fault hang "$start" "guest hung (QEMU SIGSTOPped)"

# virtiofsd killed: the guest's files are gone (QEMU itself would go on, its guest waiting on
# them for ever), so the pod must end.
start_attached vfs-kill "$IMAGE" vfs-kill sleep 100000
vfsd=$(testenv_our_processes '^virtiofsd$' | cut -d' ' -f1)
[ -n "$vfsd" ] || testenv_fail "no virtiofsd serves 'vfs-kill'"
start=$(now_ms)
kill -KILL $vfsd
after_fault vfs-kill "$start" "virtiofsd SIGKILLed"

# VMs that never boot: a kernel QEMU cannot load, and an initramfs the kernel cannot unpack (it
# panics, and panic=1 ends the VM). Each `ctr run` must fail, saying why, and leave nothing. The
# files sit where QEMU, running as the pod's uid, may read them; one that it may not is refused
# before QEMU starts, with what to change.
bad=$(mktemp -d /tmp/sc-e2e-bad-image.XXXXXX) || exit 1
chmod 0755 "$bad"
printf 'not a kernel\n' >"$bad/kernel"
head -c 65536 /dev/urandom >"$bad/initrd"
chmod 0644 "$bad/kernel" "$bad/initrd"
never_boots() { # never_boots ID KEY FILE EXPECTED-REGEX
    local conf=$TESTENV_DIR/$1.conf out start
    { cat "$SC_CONFIG"; printf '[hypervisor]\n%s = %s\n' "$2" "$3"; } >"$conf"
    start=$(now_ms)
    out=$(sc_ctr run --runtime "$SC_RUNTIME" --runtime-config-path "$conf" --rm "$IMAGE" "$1" true 2>&1) \
        && testenv_fail "$1: the pod ran: $out"
    assert_match "$1: why the pod did not start" "$4" "$out"
    sc_ctr container delete "$1" >/dev/null 2>&1
    echo "# $1: ctr run failed $(($(now_ms) - start)) ms after it started: ${out:0:300}" >&2
}
never_boots bad-kernel kernel "$bad/kernel" 'qemu: .*kernel'
# The error names where the console's last lines went: the pod's directory goes with it.
never_boots bad-initrd initrd "$bad/initrd" \
    'the pod VM (panicked|stopped \((crashed|destroyed|shutdown|QEMU exited)\)).*containerd.s log, lines with runtime=secure pod=[0-9a-f]{16}'
cp "$bad/kernel" "$TESTENV_DIR/kernel"
never_boots hidden-kernel kernel "$TESTENV_DIR/kernel" 'QEMU runs as uid [0-9]+, and cannot pass through'
rm -rf "$bad"
