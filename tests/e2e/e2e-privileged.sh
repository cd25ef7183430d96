#!/bin/bash
# A privileged container is privileged in the pod VM, nowhere else. `ctr run --privileged` fills
# the spec with the host's devices (containerd reads the host's /dev); in the container every
# device node must have a device of the guest behind it (the guest's /sys/dev has its numbers,
# under the same name), and a host device asked for by itself (`--device`) is refused, naming it.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup
testenv_runtime_is_vm || testenv_skip "runc gives a privileged container the host's devices, by design"

sc_ctr run --runtime "$SC_RUNTIME" -d --privileged "$IMAGE" priv sleep 1000 \
    || testenv_fail "ctr run --privileged failed"
testenv_wait_status priv RUNNING || testenv_fail "the privileged task did not start"
spec_devices=$(sc_ctr container info priv | python3 -c '
import json, sys
print("\n".join(d["path"] for d in json.load(sys.stdin)["Spec"]["linux"].get("devices", [])))')
[ -n "$spec_devices" ] || testenv_fail "containerd put no host device into the privileged spec"

# Each node in the container's /dev: its path, then what the kernel behind it calls that
# device ("-" when the kernel has no device with its numbers).
# shellcheck disable=SC2016 # expanded in the container
nodes=$(sc_ctr task exec --exec-id list priv sh -c '
    find /dev -type c -o -type b | while read -r node; do
        kind=char; [ -b "$node" ] && kind=block
        numbers=$(($(printf 0x%s "$(stat -c %t "$node")"))):$(($(printf 0x%s "$(stat -c %T "$node")")))
        name=$(sed -n "s/^DEVNAME=//p" "/sys/dev/$kind/$numbers/uevent" 2>/dev/null)
        echo "$node ${name:--}"
    done') || testenv_fail "listing the privileged container's devices failed"
testenv_log "device nodes in the privileged container: $(echo "$nodes" | wc -l)"
[ -n "$nodes" ] || testenv_fail "the privileged container has no device node at all"
while read -r node name; do
    [ "$name" != - ] || testenv_fail "'$node' in the privileged container has no guest device behind it"
    # devpts has its own ptmx node, which the kernel names /dev/ptmx.
    [ "$node" = "/dev/$name" ] || [ "$node" = /dev/pts/ptmx ] \
        || testenv_fail "'$node' in the privileged container is the guest's '/dev/$name'"
done <<<"$nodes"

# The host devices the guest does not have were left out; one of them, asked for alone, is refused.
left_out=$(comm -23 <(sort <<<"$spec_devices") <(awk '{ print $1 }' <<<"$nodes" | sort))
testenv_log "host devices left out: $(echo $left_out)"
[ -n "$left_out" ] || testenv_fail "every host device of the spec ($(echo $spec_devices)) is in the guest"
device=$(head -n 1 <<<"$left_out")
if out=$(sc_ctr run --runtime "$SC_RUNTIME" --rm --device "$device" "$IMAGE" hostdev true 2>&1); then
    testenv_fail "a container with the host's '$device' ran: $out"
fi
assert_match "refusal of '$device'" "device '$device' \((char|block) [0-9]+:[0-9]+\) is not one this kernel has" "$out"
sc_remove hostdev
sc_remove priv
