#!/bin/bash
# A standalone container's limits size its VM at boot (`ctr run --memory-limit --cpus`): the
# container can use all of its limit (the VM has room for it besides the guest's own needs) and
# no more, and a container that needs more than the configured maximum is refused with a message
# naming it, leaving nothing behind.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

mib=$((1024 * 1024))
# What the container sees: its kernel's MemTotal (MiB) and CPUs; then whether dd can hold a
# buffer of 600 MiB (within the limit) and of 700 MiB (above it): the exit codes, 0 and 137.
probe='echo $(($(sed -n "s/^MemTotal: *\([0-9]*\) kB/\1/p" /proc/meminfo) / 1024)) $(nproc) \
$(dd if=/dev/zero of=/dev/null bs=600M count=1 2>/dev/null; echo $?) \
$(dd if=/dev/zero of=/dev/null bs=700M count=1 2>/dev/null; echo $?)'

read -r plain_mem plain_cpus _ < <(sc_run plain sh -c "$probe") || testenv_fail "plain run failed"
read -r sized_mem sized_cpus fits over < <(sc_ctr run --runtime "$SC_RUNTIME" --rm \
    --memory-limit $((640 * mib)) --cpus 2 "$IMAGE" sized sh -c "$probe") \
    || testenv_fail "sized run failed"
testenv_log "no limits: MemTotal $plain_mem MiB, $plain_cpus CPUs; 640 MiB and 2 CPUs:" \
    "MemTotal $sized_mem MiB, $sized_cpus CPUs, dd 600 MiB: exit $fits, 700 MiB: exit $over"
assert_eq "600 MiB fit in a 640 MiB container" 0 "$fits"
assert_eq "700 MiB are OOM-killed in a 640 MiB container" 137 "$over"
if testenv_runtime_is_vm; then
    # Default VM: 512 MiB. Sized: 640 MiB + 128 MiB for the guest + the initrd's size (9 MiB,
    # 24 with sanitizers), less the kernel's share (about 60 MiB).
    [ "$plain_mem" -le 512 ] || testenv_fail "an unsized VM has $plain_mem MiB, above 512"
    [ "$sized_mem" -gt 600 ] && [ "$sized_mem" -le 768 ] \
        || testenv_fail "the sized VM has $sized_mem MiB, not 640 + 128 MiB less the kernel's"
    assert_eq "the unsized VM's CPUs" 1 "$plain_cpus"
    assert_eq "the sized VM's CPUs" 2 "$sized_cpus"

    out=$(sc_ctr run --runtime "$SC_RUNTIME" --rm --memory-limit $((64 << 30)) "$IMAGE" huge \
        true 2>&1) && testenv_fail "a 64 GiB container ran: $out"
    testenv_log "64 GiB refused: $out"
    assert_match "the refusal names the key" 'max_memory' "$out"
    sc_ctr container rm huge >/dev/null 2>&1 || true
fi
