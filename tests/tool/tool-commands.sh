#!/bin/bash
# `secure-container check` and `env` on this host: with this build's guest image and the
# shipped containerd snippet, check passes and boots a throwaway pod VM that leaves nothing;
# with a config whose pieces are missing, each missing piece is a FAIL line with its fix and the
# exit status is 1; env tells which file is in force, each key's value and source, and versions.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

tool=${SC_TOOL:?SC_TOOL: the secure-container tool to test}
dir=$TESTENV_DIR/tool
mkdir -p "$dir/net.d"
export PATH="$(dirname "$SC_SHIM"):$PATH" # where containerd would find the shim

# containerd's config: the snippet install.sh registers, and Debian's CNI plugins.
{
    cat "$SC_SOURCE_DIR/packaging/containerd/secure-runtime-v2.toml"
    printf '[plugins."io.containerd.grpc.v1.cri".cni]\n  bin_dir = "/usr/lib/cni"\n'
    printf '  conf_dir = "%s"\n' "$dir/net.d"
} >"$dir/containerd.toml"
echo '{"cniVersion": "0.4.0", "name": "t", "plugins": [{"type": "loopback"}]}' \
    >"$dir/net.d/10-t.conflist"
printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n' \
    >"$dir/runc-only.toml"

# check_line OUTPUT LEVEL WHAT: the line of WHAT has LEVEL.
check_line() {
    printf '%s\n' "$1" | grep -Eq "^$2 +$3 " || testenv_fail "no '$2 $3' line in:
$1"
}

# This host, this build.
out=$("$tool" check --config "$SC_CONFIG" --containerd-config "$dir/containerd.toml" --boot)
rc=$?
testenv_log "check on this host (exit $rc):"
printf '%s\n' "$out" | sed 's/^/#   /' >&2
assert_eq "check's exit status on this host" 0 "$rc"
for what in config 'cgroup v2' qemu virtiofsd libvirt libvirt-qemu 'guest kernel' \
    'guest initrd' 'pod files' shim containerd 'cri runtime' 'cni plugins' 'cni config' boot; do
    check_line "$out" OK "$what"
done
check_line "$out" '(OK|WARN)' kvm
assert_match "the boot is timed" 'its agent answered after [0-9.]+ s' "$out"
assert_match "the shipped snippet's handler is found" "handler 'secure'" "$out"
# The throwaway VM is gone: the leftover check at the end covers processes, mounts and state.
[ -z "$(ls -A /run/secure-container 2>/dev/null)" ] \
    || testenv_fail "check --boot left: $(ls -A /run/secure-container)"

# A check killed while its VM boots leaves the VM; the next check --boot removes it first.
"$tool" check --config "$SC_CONFIG" --containerd-config "$dir/containerd.toml" --boot \
    >"$dir/killed.log" 2>&1 &
killed=$!
qemu_runs() { [ -n "$(testenv_our_processes '^qemu-system-')" ]; }
testenv_wait_until 120 qemu_runs || testenv_fail "the killed check's VM never started"
kill -KILL "$killed"
wait "$killed" 2>/dev/null
qemu_runs || testenv_fail "the VM went with its check: nothing left to test"
out=$("$tool" check --config "$SC_CONFIG" --containerd-config "$dir/containerd.toml" --boot) \
    || testenv_fail "check after a killed check: $out"
testenv_wait_until 15 eval '! qemu_runs' \
    || testenv_fail "the killed check's VM is still there: $(testenv_our_processes '^qemu')"
[ -z "$(ls -A /run/secure-container 2>/dev/null)" ] \
    || testenv_fail "a killed check left: $(ls -A /run/secure-container)"

# A config whose pieces are missing, and a containerd without our runtime.
cat >"$dir/missing.conf" <<CONF
[hypervisor]
kernel = $dir/missing/vmlinux
initrd = $dir/missing/initramfs.img
virtio_fs_daemon = $dir/missing/virtiofsd
CONF
out=$("$tool" check --config "$dir/missing.conf" --containerd-config "$dir/runc-only.toml" --boot)
rc=$?
testenv_log "check with pieces missing (exit $rc):"
printf '%s\n' "$out" | sed 's/^/#   /' >&2
assert_eq "check's exit status with pieces missing" 1 "$rc"
for what in virtiofsd 'guest kernel' 'guest initrd' 'pod files' 'cri runtime' boot; do
    check_line "$out" FAIL "$what"
done
assert_match "the kernel's line names the path" "kernel '$dir/missing/vmlinux' not found" "$out"
# Every FAIL is followed by its fix.
unfixed=$(printf '%s\n' "$out" | awk '/^FAIL/ { want = $0; next }
    want && !/^ +fix: / { print want } { want = "" } END { if (want) print want }')
[ -z "$unfixed" ] || testenv_fail "FAIL lines without a fix: $unfixed"

printf '[hypervisor]\nacceleratr = tcg\n' >"$dir/typo.conf"
out=$("$tool" check --config "$dir/typo.conf" --containerd-config "$dir/containerd.toml")
assert_eq "check's exit status with a bad config" 1 "$?"
assert_match "the bad key is named" "^FAIL +config .*unknown key 'acceleratr'" "$out"

# env: the file in force, each key's value and source, the versions.
printf '[hypervisor]\naccelerator = tcg\ndefault_memory = 640\nkernel = %s\n' \
    "$(sed -n 's/^kernel *= *//p' "$SC_CONFIG")" >"$dir/env.conf"
"$tool" env --json --config "$dir/env.conf" >"$dir/env.json" || testenv_fail "env --json failed"
/usr/bin/python3 - "$dir/env.json" "$dir/env.conf" "$SC_CONFIG" <<'PY' || testenv_fail "env --json: see above"
import json, sys
env = json.load(open(sys.argv[1]))
def expect(what, want, got):
    if want != got:
        sys.exit(f"FAIL: {what}: expected {want!r}, got {got!r}")
expect("config_used", sys.argv[2], env["config_used"])
files = env["config_files"]
expect("the option's file is used", [True, False, False, False], [f["used"] for f in files])
expect("$SECURE_CONTAINER_CONFIG is listed", sys.argv[3], files[1]["path"])
hv = env["config"]["hypervisor"]
expect("accelerator", {"value": "tcg", "from": "file"}, hv["accelerator"])
expect("default_memory", {"value": "640", "from": "file"}, hv["default_memory"])
expect("kind", {"value": "libvirt", "from": "default"}, hv["kind"])
expect("template.enable", "default", env["config"]["template"]["enable"]["from"])
v = env["versions"]
for name, needle in [("qemu", "QEMU emulator version"), ("containerd", "containerd"),
                     ("shim", "0.1"), ("virtiofsd", "virtiofsd")]:
    if not v.get(name) or needle not in v[name]:
        sys.exit(f"FAIL: version of {name}: {v.get(name)!r}")
if not v.get("libvirt") or not v.get("guest-kernel"):
    sys.exit(f"FAIL: libvirt or guest kernel version missing: {v}")
PY
out=$("$tool" env) || testenv_fail "env failed"
assert_match "without --config, \$SECURE_CONTAINER_CONFIG is used" \
    "^  \\\$SECURE_CONTAINER_CONFIG +$SC_CONFIG   <- used" "$out"
out=$("$tool" env --config "$dir/typo.conf")
assert_eq "env's exit status with a bad config" 1 "$?"
assert_match "env names the bad key" "unknown key 'acceleratr'" "$out"

"$tool" frobnicate 2>/dev/null
assert_eq "an unknown command's exit status" 2 "$?"
testenv_log "check and env behaved"
