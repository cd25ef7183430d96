#!/bin/bash
# Benchmark (figures are printed, never asserted): the shim SIGKILLed under a running container,
# for our runtime and for runc side by side in one run. containerd sees its connection to the
# shim close, runs the shim's `delete` (ours stops the VM and removes the pod's mounts, taps,
# cgroups and state from what it recorded on disk) and removes the task; measured from the kill
# until `ctr task list` no longer shows the task (polled every 20 ms), N times: median, p99 (the
# largest value below 100 runs) and the largest.
#
#   sudo tests/bench/bench-shim-kill.sh [--runs N] [--runtimes "A B"]
#
# The shim and its config are found as the e2e tests find them (tests/lib/testenv.sh).

# shellcheck source=tests/lib/testenv.sh
. "$(dirname "$0")/../lib/testenv.sh"
# shellcheck source=tests/lib/bench.sh
. "$(dirname "$0")/../lib/bench.sh"

runs=20
runtimes="io.containerd.secure.v2 io.containerd.runc.v2"
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs=$2; shift 2 ;;
    --runtimes) runtimes=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--runtimes \"A B\"]" >&2; exit 2 ;;
    esac
done

# The shim of container $1, of either runtime.
shim_of() {
    testenv_our_processes '^containerd-shim-' | while read -r pid _; do
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-id $1 " && echo "$pid"
    done
}

# Milliseconds from the SIGKILL of container $2's shim (runtime $1) until containerd dropped
# its task; nothing if it did not within 60 s.
time_to_cleanup() {
    local id=$2 shim start deadline sockets
    sockets=$(ls /run/containerd/s 2>/dev/null)
    SC_RUNTIME=$1 sc_run_detached "$id" sleep 100000 >/dev/null || return 1
    shim=$(shim_of "$id")
    [ -n "$shim" ] || return 1
    start=$(now_ms)
    kill -KILL "$shim"
    deadline=$((start + 60000))
    while [ -n "$(testenv_task_status "$id")" ]; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.02
    done
    echo $(($(now_ms) - start))
    sc_ctr container delete "$id" >/dev/null 2>&1
    # runc's shim leaves its socket when SIGKILLed (its delete does not remove it); ours removes
    # its own, which the leftover check at the end holds it to.
    if [ "$1" = io.containerd.runc.v2 ]; then
        comm -13 <(printf '%s\n' "$sockets") <(ls /run/containerd/s) \
            | sed 's|^|/run/containerd/s/|' | xargs -r rm -f
    fi
    rm -rf /run/containerd/fifo/*/"$id"-std* 2>/dev/null
    find /run/containerd/fifo -mindepth 1 -maxdepth 1 -type d -empty -delete 2>/dev/null
}

testenv_setup
for runtime in $runtimes; do
    times=$(for i in $(seq 1 "$runs"); do time_to_cleanup "$runtime" "kill-$i"; done)
    n=$(printf '%s\n' "$times" | grep -c .)
    p99_index=$(( (n * 99 + 99) / 100 ))
    sorted=$(printf '%s\n' "$times" | grep . | sort -n)
    printf '%-24s %3d of %d runs: median %s ms, p99 %s ms, largest %s ms\n' "$runtime" "$n" \
        "$runs" "$(printf '%s\n' "$sorted" | median)" \
        "$(printf '%s\n' "$sorted" | sed -n "${p99_index}p")" "$(printf '%s\n' "$sorted" | tail -1)"
done
