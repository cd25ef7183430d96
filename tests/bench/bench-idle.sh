#!/bin/bash
# Benchmark (figures are printed, never asserted): what idle pods cost, through a private
# containerd: with 1, 10, ... pods whose container only sleeps, over a window of --window seconds
# (default 60) starting --settle seconds (default 10) after the last pod started:
#   - the shims' CPU time (user + system) and wake-ups (context switches of all their threads);
#   - QEMU's and virtiofsd's CPU time (a TCG guest's own timers wake QEMU);
# each per pod and per idle minute. An idle shim should wake only for its agent health check
# (every 5 s, a few context switches each): 40-55 wake-ups a minute measured, against about
# 1000 when a reaper thread walked /proc every 100 ms.
#
#   sudo tests/bench/bench-idle.sh [--pods "1 10"] [--window S] [--settle S]
#
# The shim and its config are found as the e2e tests find them (tests/lib/testenv.sh): SC_SHIM
# and SC_BUILD_DIR (the build dir holding the guest image), or the installed ones. Pods are
# started until the count is reached or one fails to start; the figures are then for the pods
# that run (the machine's memory is the limit: about 300 MiB a pod).

# shellcheck source=tests/lib/testenv.sh
. "$(dirname "$0")/../lib/testenv.sh"

pod_counts="1 10"
window=60
settle=10
while [ $# -gt 0 ]; do
    case "$1" in
    --pods) pod_counts=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    *) echo "usage: $0 [--pods \"1 10\"] [--window S] [--settle S]" >&2; exit 2 ;;
    esac
done

TICKS_PER_S=$(getconf CLK_TCK)

# "PID TICKS SWITCHES" for each of this benchmark's processes whose executable's basename is $1:
# its CPU time (utime + stime, in clock ticks) and the context switches of all its threads.
counters() {
    local pid
    for pid in $(testenv_our_processes "^$1\$" | cut -d' ' -f1); do
        # In stat, the fields after "(comm) " start with the state: utime and stime are the
        # 12th and 13th from there.
        awk -v pid="$pid" '
            FNR == 1 && FILENAME ~ /\/stat$/ { sub(/.*\) /, ""); split($0, f, " "); ticks = f[12] + f[13] }
            /^(non)?voluntary_ctxt_switches:/ { switches += $2 }
            END { print pid, ticks + 0, switches + 0 }
        ' "/proc/$pid/stat" "/proc/$pid"/task/*/status 2>/dev/null
    done
}

# Sums the growth of TICKS and SWITCHES from "before" counters ($1) to "after" ones ($2), over
# the processes in both; prints "TICKS SWITCHES".
growth() {
    awk 'NR == FNR { t[$1] = $2; s[$1] = $3; next }
         $1 in t { dt += $2 - t[$1]; ds += $3 - s[$1] }
         END { print dt + 0, ds + 0 }' <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}

# per_pod_minute TICKS|SWITCHES PODS [ms]: the figure per pod and idle minute (CPU in ms).
per_pod_minute() {
    awk -v v="$1" -v n="$2" -v w="$window" -v hz="$TICKS_PER_S" -v unit="${3:-}" 'BEGIN {
        x = v / n * 60 / w
        if (unit == "ms") x = x * 1000 / hz
        printf "%.0f", x }'
}

# Starts up to $1 pods; prints how many run.
start_pods() {
    local i
    for i in $(seq "$1"); do
        if ! sc_run_detached "idle-$i" sleep 1000000 >/dev/null 2>"$TESTENV_DIR/last-error"; then
            echo "  pod $i did not start: $(tr '\n' ' ' <"$TESTENV_DIR/last-error")" >&2
            sc_remove "idle-$i"
            echo $((i - 1))
            return
        fi
    done
    echo "$1"
}

# Prints one table row for $1 pods.
measure_idle() {
    local want=$1 pods i shim0 qemu0 vfs0 shim_ticks shim_switches qemu_ticks vfs_ticks
    pods=$(start_pods "$want")
    if [ "$pods" -gt 0 ]; then
        sleep "$settle"
        shim0=$(counters containerd-shim-secure-v2)
        qemu0=$(counters qemu-system-x86_64)
        vfs0=$(counters virtiofsd)
        sleep "$window"
        read -r shim_ticks shim_switches <<<"$(growth "$shim0" "$(counters containerd-shim-secure-v2)")"
        read -r qemu_ticks _ <<<"$(growth "$qemu0" "$(counters qemu-system-x86_64)")"
        read -r vfs_ticks _ <<<"$(growth "$vfs0" "$(counters virtiofsd)")"
        printf '%5s %7s %16s %16s %16s %14s\n' "$want" "$pods" \
            "$(per_pod_minute "$shim_ticks" "$pods" ms) ms" \
            "$(per_pod_minute "$shim_switches" "$pods")" \
            "$(per_pod_minute "$qemu_ticks" "$pods" ms) ms" \
            "$(per_pod_minute "$vfs_ticks" "$pods" ms) ms"
    else
        printf '%5s %7s\n' "$want" "none"
    fi
    for i in $(seq "$pods"); do
        sc_remove "idle-$i"
    done
}

testenv_setup
echo "# bench-idle: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r)," \
    "${window} s window ${settle} s after the last start"
echo
printf '%5s %7s %16s %16s %16s %14s\n' pods running "shim CPU" "shim wake-ups" "QEMU CPU" \
    "virtiofsd CPU"
for pods in $pod_counts; do
    measure_idle "$pods"
done
echo "(per pod and per idle minute: CPU time is user + system, wake-ups are context switches)"
