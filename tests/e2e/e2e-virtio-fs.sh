#!/bin/bash
# The cold path with virtio-fs ([hypervisor] shared_fs = virtio-fs, [template] enable = false):
# the suite's other cases resume pods from a template over virtio-9p, the shipped default; this
# one boots a VM whose rootfs comes through virtiofsd, runs, execs and writes there.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_runtime_is_vm || testenv_skip "virtio-fs is a VM runtime's"
testenv_prepare_runtime
conf_dir=$(mktemp -d /tmp/sc-e2e-virtio-fs.XXXXXX) || exit 1
{
    [ -n "${SC_CONFIG:-}" ] && cat "$SC_CONFIG"
    printf '[hypervisor]\nshared_fs = virtio-fs\n[template]\nenable = false\n'
} >"$conf_dir/sc.conf"
SC_CONFIG=$conf_dir/sc.conf
testenv_setup
trap 'rc=$?; rm -rf "$conf_dir"; (exit $rc); testenv_teardown' EXIT

sc_run_detached vfs sleep 1001 || testenv_fail "the pod did not start"
testenv_our_processes '^virtiofsd$' | grep -q . || testenv_fail "no virtiofsd serves the pod"
pgrep -f 'qemu-system.*guest=sc-template,' >/dev/null && testenv_fail "the pod was resumed, not booted"
out=$(sc_ctr task exec --exec-id w vfs sh -c 'echo through-virtio-fs >/etc/probe; cat /etc/probe')
assert_eq "a file written in the rootfs" through-virtio-fs "$out"
assert_eq "the pod's output" cold-ok "$(sc_run vfs-2 echo cold-ok)"
sc_remove vfs
