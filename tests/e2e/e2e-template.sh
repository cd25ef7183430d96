#!/bin/bash
# VM templates ([template] enable = true): the first pod boots and starts the template build;
# later pods resume from the template, each with the host's clock and its own random state; a
# broken template is removed and the pod boots instead; nothing of a build is left running.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_runtime_is_vm || testenv_skip "templates are a VM runtime's"
testenv_prepare_runtime
conf_dir=$(mktemp -d /tmp/sc-e2e-template.XXXXXX) || exit 1
# Deep on purpose: the build's VM (and its libvirt sockets, ≤ 107 bytes) must not live there.
templates=$conf_dir/a-template-directory-deeper-than-a-unix-socket-path-allows/templates
{
    [ -n "${SC_CONFIG:-}" ] && cat "$SC_CONFIG"
    printf '[hypervisor]\nshared_fs = virtio-9p\n[template]\nenable = true\ndirectory = %s\n' \
        "$templates"
} >"$conf_dir/sc.conf"
SC_CONFIG=$conf_dir/sc.conf
TESTENV_TEMPLATE_BUILD=0 # the first pod starts the build
testenv_setup
trap 'rc=$?; rm -rf "$conf_dir"; (exit $rc); testenv_teardown' EXIT

# The template's QEMU: a resumed pod's domain has the template's name.
resumed_qemus() { pgrep -fc 'qemu-system.*guest=sc-template,' || true; }
template_file() { ls "$templates"/*.save 2>/dev/null | head -n 1; }
builder_done() { flock -n "$templates/build.lock" true; }

out=$(sc_run cold echo cold-ok) || testenv_fail "the first pod did not run"
assert_eq "the first pod's output" cold-ok "$out"
testenv_wait_until 300 template_file || testenv_fail "no template built in $templates: $(cat "$templates/build.log" 2>/dev/null)"
testenv_wait_until 60 builder_done || testenv_fail "the template builder did not finish"
template=$(template_file)
grep -q 'built the VM template' "$templates/build.log" \
    || testenv_fail "build.log does not say it built: $(cat "$templates/build.log")"
pgrep -f secure-container-template >/dev/null && testenv_fail "a template builder still runs"
assert_eq "QEMUs left by the build" 0 "$(resumed_qemus)"

# A resumed guest that kept the template's clock would be behind by the time since the save.
saved=$(stat -c %Y "$template")
past_save() { [ "$(date +%s)" -ge $((saved + 3)) ]; }
testenv_wait_until 30 past_save || testenv_fail "the clock did not move"

sc_run_detached warm-a sleep 1001 || testenv_fail "pod warm-a did not start"
sc_run_detached warm-b sleep 1002 || testenv_fail "pod warm-b did not start"
assert_eq "pods resumed from the template" 2 "$(resumed_qemus)"
for pod in warm-a warm-b; do
    before=$(date +%s)
    guest=$(sc_ctr task exec --exec-id clock "$pod" date +%s) || testenv_fail "$pod: date failed"
    after=$(date +%s)
    [ "$guest" -ge $((before - 1)) ] && [ "$guest" -le $((after + 1)) ] \
        || testenv_fail "$pod's clock: $guest, the host's $before..$after (saved at $saved)"
done
random_a=$(sc_ctr task exec --exec-id r warm-a od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
random_b=$(sc_ctr task exec --exec-id r warm-b od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
assert_match "warm-a's random bytes" '^[0-9a-f]{64}$' "$random_a"
assert_ne "random bytes of two pods from one template" "$random_a" "$random_b"
boot_a=$(sc_ctr task exec --exec-id b warm-a cat /proc/sys/kernel/random/boot_id)
boot_b=$(sc_ctr task exec --exec-id b warm-b cat /proc/sys/kernel/random/boot_id)
assert_ne "boot ids of two pods from one template" "$boot_a" "$boot_b"
out=$(sc_ctr task exec --exec-id w warm-a sh -c 'echo from-the-share >/tmp/f; cat /tmp/f')
assert_eq "a resumed pod's rootfs" from-the-share "$out"
sc_remove warm-a
sc_remove warm-b

# A broken template (cut in half): removed, and the pod boots.
truncate -s $(($(stat -c %s "$template") / 2)) "$template"
out=$(sc_run broken echo booted-instead) || testenv_fail "the pod with a broken template failed"
assert_eq "the pod after a broken template" booted-instead "$out"
[ -e "$template" ] && testenv_fail "the broken template was not removed"
assert_eq "QEMUs resumed from the broken template" 0 "$(resumed_qemus)"
# For the record: where the time of a cold and of a resumed start went.
grep -ho 'msg="[^"]*\(pod start\|template\)[^"]*"' "$TESTENV_DIR/containerd.log" | sed 's/^/# /' >&2
