#!/bin/bash
# The cold path with virtio-9p ([hypervisor] shared_fs = virtio-9p, [template] enable = false):
# the suite's other cases boot over virtio-fs, the shipped default; this one boots a VM whose
# rootfs QEMU serves itself, runs, execs and writes there. QEMU must then be root (it acts as the
# files' owners), and the shim says so in the log. libvirt leaves a root QEMU its capabilities:
# QEMU has those of the shim's start (shim-privileges.c), none of the host-wide ones.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_runtime_is_vm || testenv_skip "virtio-9p is a VM runtime's"
testenv_prepare_runtime
conf_dir=$(mktemp -d /tmp/sc-e2e-virtio-9p.XXXXXX) || exit 1
{
    [ -n "${SC_CONFIG:-}" ] && cat "$SC_CONFIG"
    printf '[hypervisor]\nshared_fs = virtio-9p\n[template]\nenable = false\n'
} >"$conf_dir/sc.conf"
SC_CONFIG=$conf_dir/sc.conf
testenv_setup
trap 'rc=$?; rm -rf "$conf_dir"; (exit $rc); testenv_teardown' EXIT

sc_run_detached p9 sleep 1001 || testenv_fail "the pod did not start"
testenv_our_processes '^virtiofsd$' | grep -q . && testenv_fail "a virtiofsd serves a 9p pod"
qemu=$(testenv_our_processes '^qemu-system-' | cut -d' ' -f1)
[ "$(echo "$qemu" | wc -w)" = 1 ] || testenv_fail "expected one QEMU, found: '$qemu'"
assert_eq "QEMU's uids" "0 0 0 0" "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$qemu/status")"
# At most CHOWN..SETPCAP, NET_ADMIN, IPC_LOCK, SYS_PTRACE, SYS_ADMIN, SYS_NICE, SYS_RESOURCE,
# MKNOD, SETFCAP: not SYS_MODULE, SYS_RAWIO, SYS_BOOT, SYS_TIME, BPF, PERFMON and the like.
caps=$(awk '$1 == "CapEff:" { print $2 }' "/proc/$qemu/status")
[ $((0x$caps & ~0x89a851ff)) = 0 ] || testenv_fail "QEMU has capabilities beyond the shim's start set: $caps"
echo "# QEMU's CapEff with virtio-9p: $caps" >&2
grep -q 'QEMU runs as root: \[hypervisor\] shared_fs = virtio-9p needs it' "$TESTENV_DIR/containerd.log" \
    || testenv_fail "the shim did not log that QEMU runs as root"
out=$(sc_ctr task exec --exec-id w p9 sh -c 'echo through-virtio-9p >/etc/probe; cat /etc/probe')
assert_eq "a file written in the rootfs" through-virtio-9p "$out"
assert_eq "the pod's output" cold-ok "$(sc_run p9-2 echo cold-ok)"
sc_remove p9
