#!/bin/bash
# Memory a container frees goes back to the host: the guest reports freed pages (virtio balloon,
# free page reporting) and QEMU drops them, so the pod's guest RAM on the host shrinks again
# after a process that held 150 MiB exits. Without reporting it would stay at its peak.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup
testenv_runtime_is_vm || testenv_skip "$SC_RUNTIME has no guest memory to return"

# Resident guest RAM of this test's QEMU, in MiB: the memfd that backs the guest's memory
# (virtio-fs), or else (virtio-9p) the anonymous read-write mappings of 256 MiB or more, which
# only guest memory is (the TCG cache is executable and smaller).
guest_ram_mib() {
    local pid
    pid=$(testenv_our_processes '^qemu-system-' | cut -d' ' -f1 | head -n 1)
    [ -n "$pid" ] || { echo 0; return; }
    awk '/^[0-9a-f]+-[0-9a-f]+ / { memfd = $6 ~ /^\/memfd:/; anon = NF == 5 && $2 == "rw-p" }
         /^Size:/ { ram = memfd || (anon && $2 >= 256 * 1024) }
         /^Rss:/ && ram { kib += $2 }
         END { printf "%d\n", kib / 1024 }' "/proc/$pid/smaps"
}

sc_run_detached mem sleep 100000 || testenv_fail "start failed"
idle=$(guest_ram_mib)
# dd fills a 150 MiB buffer, then blocks writing it into a pipe nobody reads: the memory stays
# held until the container is killed. (Not `exec -d`: ctr would leave that exec's fifos.)
sc_ctr task exec --exec-id hold mem sh -c 'dd if=/dev/zero bs=150M count=1 | sleep 100000' &
holder=$!
# The host sees less than the whole 150 MiB as growth: meanwhile the guest goes on reporting
# pages it freed after boot (idle is read while that still happens; 130 MiB was seen in a CI run
# on a busy machine). Two thirds of the buffer is growth that only the buffer explains.
grown() { [ "$(guest_ram_mib)" -ge $((idle + 100)) ]; }
testenv_wait_until 60 grown || testenv_fail "guest RAM did not grow: idle $idle MiB, now $(guest_ram_mib) MiB"
peak=$(guest_ram_mib)
sc_ctr task kill -a -s SIGKILL mem >/dev/null 2>&1 # the whole container; its init is a sleep too
testenv_wait_status mem STOPPED 60 || testenv_fail "container did not stop"
wait "$holder"
# Returned: back within a third of the buffer above idle (without reporting it stays at the
# growth that made grown() true, two thirds above).
returned() { [ "$(guest_ram_mib)" -le $((idle + 50)) ]; }
testenv_wait_until 60 returned || testenv_fail "freed memory not returned: idle $idle MiB, peak $peak MiB, now $(guest_ram_mib) MiB"
echo "# guest RAM on the host: idle $idle MiB, holding 150 MiB $peak MiB, after the exit $(guest_ram_mib) MiB" >&2
sc_remove mem
