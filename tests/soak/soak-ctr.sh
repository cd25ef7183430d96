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

# shellcheck source=tests/soak/soak-lib.sh
. "$(dirname "$0")/soak-lib.sh"

soak_options "$@"
testenv_setup
SOAK_DIR=$TESTENV_DIR/soak
mkdir -p "$SOAK_DIR"

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

# worker W: cycles W, W+P, W+2P, ...; one line per failure in $SOAK_DIR/failures-W.
worker() {
    local n why
    for ((n = $1; n <= SOAK_CYCLES; n += SOAK_PARALLEL)); do
        if ! why=$(cycle "soak-$n"); then
            echo "cycle $n: $why" >>"$SOAK_DIR/failures-$1"
            soak_keep_log "soak-$n"
            sc_remove "soak-$n"
        fi
    done
}

# A pod that lives through the soak and gets an exec from every cycle: its shim must not
# accumulate anything either.
sc_run_detached resident sleep 100000 || testenv_fail "the resident pod did not start"
resident_processes=$(testenv_our_processes "$TESTENV_WATCHED_EXE" | wc -l)
# A first cycle before the account: containerd opens what it keeps (its shim-facing sockets,
# the image's snapshots) on first use.
why=$(cycle soak-warmup) || testenv_fail "the warm-up cycle failed at: $why"
resident_only() {
    [ "$(testenv_our_processes "$TESTENV_WATCHED_EXE" | wc -l)" -le "$resident_processes" ]
}
testenv_wait_until 60 resident_only || testenv_fail "the warm-up pod's processes did not go"
soak_begin "$(private_containerd_shim_pids "$TESTENV_DIR/containerd.sock" | head -n 1)"
workers=()
for ((w = 1; w <= SOAK_PARALLEL; w++)); do
    worker "$w" &
    workers+=($!)
done
wait "${workers[@]}" # not a bare wait: containerd is a child of this shell too
soak_end
sc_remove resident
