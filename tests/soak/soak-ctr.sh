#!/bin/bash
# Churn soak through ctr: CYCLES container lifecycles, PARALLEL at a time, against one private
# containerd; each cycle is `ctr run -d` (sleep), an exec whose output is checked, SIGKILL, task
# delete, container delete. At the end, with containerd still running, a leak account against
# the start: processes (QEMU, shims, virtiofsd), containerd's open fds and mounts, network
# namespaces and links, cgroups, the shims' state entries, memory. A failed cycle or anything
# that grew fails the run; the usual leftover check follows when containerd has stopped.
#
#   tests/soak/soak-ctr.sh [--cycles N] [--parallel P]      (default 1000 cycles, 4 at a time)
#
# meson runs a short one in every test run (suite soak); README.md has a long run's figures.
# The shim is found as the e2e tests find it (tests/lib/testenv.sh): SC_SHIM, SC_BUILD_DIR.

# shellcheck source=tests/lib/testenv.sh
. "$(dirname "$0")/../lib/testenv.sh"

cycles=1000
parallel=4
while [ $# -gt 0 ]; do
    case "$1" in
    --cycles) cycles=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    *) echo "usage: $0 [--cycles N] [--parallel P]" >&2; exit 2 ;;
    esac
done
testenv_setup
soak_dir=$TESTENV_DIR/soak
mkdir -p "$soak_dir"

# One "NAME VALUE" line per thing the account watches.
account() {
    echo "processes $(testenv_our_processes "$TESTENV_WATCHED_EXE" | wc -l)"
    echo "resident-shim-fds $(find "/proc/$resident_shim/fd" -mindepth 1 | wc -l)"
    echo "containerd-fds $(find "/proc/$CONTAINERD_PID/fd" -mindepth 1 | wc -l)"
    echo "mounts $(wc -l <"/proc/$CONTAINERD_PID/mountinfo")"
    echo "netns $(find /run/netns -mindepth 1 2>/dev/null | wc -l)"
    echo "links $(ip -o link show | wc -l)"
    echo "cgroups $(find /sys/fs/cgroup -type d | wc -l)"
    echo "run-entries $(find /run/secure-container "$TESTENV_DIR/state" -mindepth 1 2>/dev/null | wc -l)"
}

# Kept apart: memory moves with the page cache, so it is reported, not judged.
memory_mib() {
    echo "containerd RSS $(($(awk '/^VmRSS:/ { print $2 }' "/proc/$CONTAINERD_PID/status") / 1024)) MiB," \
        "host available $(($(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) / 1024)) MiB"
}

# cycle ID: one lifecycle, and an exec in the resident pod; on failure prints the step that
# failed and returns 1.
cycle() {
    local id=$1 out status
    out=$(sc_ctr run --runtime "$SC_RUNTIME" -d "$IMAGE" "$id" sleep 100000 2>&1 >/dev/null) \
        || { echo "run: $out"; return 1; }
    out=$(sc_ctr task exec --exec-id check "$id" echo "$id" 2>&1)
    status=$?
    [ "$out" = "$id" ] || { echo "exec: '$out' (status $status)"; return 1; }
    out=$(sc_ctr task exec --exec-id "$id" resident echo "$id" 2>&1)
    status=$?
    [ "$out" = "$id" ] || { echo "exec in the resident pod: '$out' (status $status)"; return 1; }
    sc_ctr task kill -s SIGKILL "$id" 2>/dev/null || { echo "kill"; return 1; }
    testenv_wait_status "$id" STOPPED 120 2>/dev/null || { echo "stop"; return 1; }
    sc_ctr task delete "$id" >/dev/null 2>&1 || { echo "task delete"; return 1; }
    sc_ctr container delete "$id" 2>/dev/null || { echo "container delete"; return 1; }
}

# worker W: cycles W, W+P, W+2P, ...; one line per failure in $soak_dir/failures-W.
worker() {
    local n why
    for ((n = $1; n <= cycles; n += parallel)); do
        if ! why=$(cycle "soak-$n"); then
            echo "cycle $n: $why" >>"$soak_dir/failures-$1"
            # What the shims logged about it (containerd runs at debug level), for the report.
            grep -F "soak-$n" "$TESTENV_DIR/containerd.log" | tail -n 40 >>"$soak_dir/log-$n"
            sc_remove "soak-$n"
        fi
    done
}

# A pod that lives through the soak and gets an exec from every cycle: its shim must not
# accumulate anything either.
sc_run_detached resident sleep 100000 || testenv_fail "the resident pod did not start"
resident_shim=$(private_containerd_shim_pids "$TESTENV_DIR/containerd.sock" | head -n 1)
[ -n "$resident_shim" ] || testenv_fail "no shim for the resident pod"
resident_processes=$(testenv_our_processes "$TESTENV_WATCHED_EXE" | wc -l)
# A first cycle before the account: containerd opens what it keeps (its shim-facing sockets,
# the image's snapshots) on first use.
why=$(cycle soak-warmup) || testenv_fail "the warm-up cycle failed at: $why"
resident_only() {
    [ "$(testenv_our_processes "$TESTENV_WATCHED_EXE" | wc -l)" -le "$resident_processes" ]
}
testenv_wait_until 60 resident_only || testenv_fail "the warm-up pod's processes did not go"
before=$(account)
echo "# before: $(memory_mib)"
start=$SECONDS
workers=()
for ((w = 1; w <= parallel; w++)); do
    worker "$w" &
    workers+=($!)
done
wait "${workers[@]}" # not a bare wait: containerd is a child of this shell too
elapsed=$((SECONDS - start))

# The shims, QEMUs and the pods' host side go after the delete replies: wait for them.
settled() { [ "$(account)" = "$before" ]; }
testenv_wait_until 60 settled || true
after=$(account)
failures=$(cat "$soak_dir"/failures-* 2>/dev/null | wc -l)
echo "# soak: $cycles cycles, $parallel in parallel, $elapsed s, $failures failed"
# Output the shim stopped waiting for: pipes held open past the grace after an exit.
echo "# shims' 'output not drained' warnings: $(grep -c 'output not drained' "$TESTENV_DIR/containerd.log")"
echo "# after: $(memory_mib)"
printf '%-16s %8s %8s\n' "#" before after
join <(sort <<<"$before") <(sort <<<"$after") | awk '{ printf "# %-14s %8s %8s\n", $1, $2, $3 }'
if [ "$failures" -gt 0 ]; then
    for log in "$soak_dir"/log-*; do
        echo "--- the log's lines about ${log##*/log-}:" >&2
        cat "$log" >&2
    done
    testenv_fail "failed cycles: $(head -n 5 "$soak_dir"/failures-* | tr '\n' ' ')"
fi
grown=$(join <(sort <<<"$before") <(sort <<<"$after") | awk '$3 > $2 { print $1 " " $2 " -> " $3 }')
[ -z "$grown" ] || testenv_fail "grew over the soak: $(echo $grown)"
sc_remove resident
