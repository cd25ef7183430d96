#!/bin/bash
# What the churn soaks share (soak-ctr.sh, soak-cri.sh): the options, the leak account taken
# with containerd still running, and the report and verdict. A soak script sources testenv.sh
# (and cri-lib.sh), calls soak_options "$@", sets everything up, then:
#
#   soak_begin SHIM_PID        after the resident pod and a warm-up cycle: the account before
#   ... its cycles, one line per failed cycle in "$SOAK_DIR/failures-*" ...
#   soak_end                   waits for the pods' host side to go, reports, judges
#
# SOAK_ACCOUNT_EXTRA names a function that prints more "NAME VALUE" lines for the account.

SOAK_CYCLES=1000
SOAK_PARALLEL=4

# --pod-every K is taken only by a soak that set SOAK_POD_EVERY (its default) before.
soak_options() {
    local usage="usage: $0 ${SOAK_POD_EVERY:+[--pod-every K] }[--cycles N] [--parallel P]"
    while [ $# -gt 0 ]; do
        case "$1" in
        --cycles) SOAK_CYCLES=$2; shift 2 ;;
        --parallel) SOAK_PARALLEL=$2; shift 2 ;;
        --pod-every) [ -n "${SOAK_POD_EVERY:-}" ] || { echo "$usage" >&2; exit 2; }
            SOAK_POD_EVERY=$2; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
        esac
    done
}

# One "NAME VALUE" line per thing the account watches.
soak_account() {
    echo "processes $(testenv_our_processes "$TESTENV_WATCHED_EXE" | wc -l)"
    echo "resident-shim-fds $(find "/proc/$SOAK_RESIDENT_SHIM/fd" -mindepth 1 | wc -l)"
    echo "resident-virtiofsd-fds $(soak_resident_virtiofsd_fds)"
    echo "containerd-fds $(find "/proc/$CONTAINERD_PID/fd" -mindepth 1 | wc -l)"
    echo "mounts $(wc -l <"/proc/$CONTAINERD_PID/mountinfo")"
    echo "netns $(find /run/netns -mindepth 1 2>/dev/null | wc -l)"
    echo "links $(ip -o link show | wc -l)"
    echo "cgroups $(find /sys/fs/cgroup -type d | wc -l)"
    echo "run-entries $(find /run/secure-container "$TESTENV_DIR/state" -mindepth 1 2>/dev/null | wc -l)"
    [ -z "${SOAK_ACCOUNT_EXTRA:-}" ] || "$SOAK_ACCOUNT_EXTRA"
}

# The fds of the resident pod's virtiofsd (0 over virtio-9p): it holds one for every inode the
# guest caches, so files the guest never lets go of show here.
soak_resident_virtiofsd_fds() {
    local pid total=0
    for pid in $(pgrep -x virtiofsd); do
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "source=$SOAK_RESIDENT_DIR/" || continue
        total=$((total + $(find "/proc/$pid/fd" -mindepth 1 2>/dev/null | wc -l)))
    done
    echo "$total"
}

# Kept apart: memory moves with the page cache, so it is reported, not judged.
soak_memory_mib() {
    echo "containerd RSS $(($(awk '/^VmRSS:/ { print $2 }' "/proc/$CONTAINERD_PID/status") / 1024)) MiB," \
        "host available $(($(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) / 1024)) MiB"
}

# soak_begin SHIM_PID: the resident pod's shim, whose fds are watched too.
soak_begin() {
    SOAK_RESIDENT_SHIM=$1
    [ -n "$SOAK_RESIDENT_SHIM" ] || testenv_fail "no shim for the resident pod"
    # Its pod directory: the first 16 characters of its socket's name (shim_state_pod_dir()).
    local socket
    socket=$(tr '\0' '\n' <"/proc/$SOAK_RESIDENT_SHIM/cmdline" | grep -A1 -x -- -socket | tail -n 1)
    SOAK_RESIDENT_DIR=/run/secure-container/$(basename "$socket" | cut -c1-16)
    SOAK_BEFORE=$(soak_account)
    echo "# before: $(soak_memory_mib)"
    SOAK_START=$SECONDS
}

soak_settled() { [ "$(soak_account)" = "$SOAK_BEFORE" ]; }

soak_end() {
    local elapsed=$((SECONDS - SOAK_START)) after failures grown log
    # The shims, QEMUs and the pods' host side go after the delete replies: wait for them.
    testenv_wait_until 60 soak_settled || true
    after=$(soak_account)
    failures=$(cat "$SOAK_DIR"/failures-* 2>/dev/null | wc -l)
    echo "# soak: $SOAK_CYCLES cycles, $SOAK_PARALLEL in parallel, $elapsed s, $failures failed"
    # Output the shim stopped waiting for: pipes held open past the grace after an exit.
    echo "# shims' 'output not drained' warnings:" \
        "$(grep -c 'output not drained' "$TESTENV_DIR/containerd.log")"
    echo "# after: $(soak_memory_mib)"
    printf "%-20s %8s %8s\n" "#" before after
    join <(sort <<<"$SOAK_BEFORE") <(sort <<<"$after") \
        | awk '{ printf "# %-18s %8s %8s\n", $1, $2, $3 }'
    if [ "$failures" -gt 0 ]; then
        for log in "$SOAK_DIR"/log-*; do
            [ -e "$log" ] || continue
            echo "--- the log's lines about ${log##*/log-}:" >&2
            cat "$log" >&2
        done
        testenv_fail "failed cycles: $(head -n 5 "$SOAK_DIR"/failures-* | tr '\n' ' ')"
    fi
    grown=$(join <(sort <<<"$SOAK_BEFORE") <(sort <<<"$after") \
        | awk '$3 > $2 { print $1 " " $2 " -> " $3 }')
    [ -z "$grown" ] || testenv_fail "grew over the soak: $(echo $grown)"
}

# soak_keep_log NAME: what the shims logged about a failed cycle's NAME (containerd runs at
# debug level), for the report.
soak_keep_log() {
    grep -F "$1" "$TESTENV_DIR/containerd.log" | tail -n 40 >>"$SOAK_DIR/log-$1"
}
