#!/bin/bash
# The container runs on its own kernel: another boot id than the host's (and uname may differ).
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

guest=$(sc_run kernel sh -c 'uname -a; cat /proc/sys/kernel/random/boot_id') \
    || testenv_fail "ctr run failed"
printf 'host:  %s\nguest: %s\n' "$(uname -a)" "$guest" >&2
guest_boot=$(printf '%s\n' "$guest" | tail -n 1)
host_boot=$(cat /proc/sys/kernel/random/boot_id)
assert_match "guest boot id" '^[0-9a-f-]{36}$' "$guest_boot"
if testenv_runtime_is_vm; then
    assert_ne "guest boot id vs host" "$host_boot" "$guest_boot"
else
    assert_eq "runc shares the host kernel (boot id)" "$host_boot" "$guest_boot"
fi
