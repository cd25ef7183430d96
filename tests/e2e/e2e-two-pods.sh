#!/bin/bash
# Two pods run at the same time, each on its own kernel (a VM runtime) and without seeing the
# other's processes.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

sc_run_detached pod-a sh -c 'echo a >/tmp/who; exec sleep 1001' &
a=$!
sc_run_detached pod-b sh -c 'echo b >/tmp/who; exec sleep 1002' &
b=$!
wait "$a" || testenv_fail "pod-a did not start"
wait "$b" || testenv_fail "pod-b did not start"
testenv_wait_pid1 pod-a "sleep 1001"
testenv_wait_pid1 pod-b "sleep 1002"

assert_eq "pod-a's file" a "$(sc_ctr task exec --exec-id w pod-a cat /tmp/who)"
assert_eq "pod-b's file" b "$(sc_ctr task exec --exec-id w pod-b cat /tmp/who)"
seen=$(sc_ctr task exec --exec-id n pod-a sh -c 'cat /proc/[0-9]*/cmdline' | tr '\0' ' ')
assert_match "pod-a sees its own sleep" 'sleep 1001' "$seen"
printf '%s\n' "$seen" | grep -q 'sleep 1002' && testenv_fail "pod-a sees pod-b's process: $seen"

boot_a=$(sc_ctr task exec --exec-id k pod-a cat /proc/sys/kernel/random/boot_id)
boot_b=$(sc_ctr task exec --exec-id k pod-b cat /proc/sys/kernel/random/boot_id)
host=$(cat /proc/sys/kernel/random/boot_id)
if testenv_runtime_is_vm; then
    assert_ne "pod-a's kernel vs the host's (boot id)" "$host" "$boot_a"
    assert_ne "pod-b's kernel vs the host's (boot id)" "$host" "$boot_b"
    assert_ne "pod-a's kernel vs pod-b's (boot id)" "$boot_a" "$boot_b"
else
    assert_eq "runc shares the host kernel (boot id)" "$host" "$boot_a"
fi
sc_remove pod-a
sc_remove pod-b
