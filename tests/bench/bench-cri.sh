#!/bin/bash
# Benchmark (figures are printed, never asserted): the CRI path, for the runc and secure runtime
# handlers side by side in one run, on the same private containerd (CRI plugin) and the same CNI
# bridge, set up as the CRI suite sets them up (tests/cri/cri-lib.sh):
#   - RunPodSandbox's wall time, median and min/max of N runs (each pod removed after);
#   - pod ready: RunPodSandbox + two busybox `sleep` containers created, started and RUNNING;
#   - host <-> pod network: ping round trip to the pod IP, TCP throughput of 64 MiB with busybox
#     nc both ways.
# The measurements are bench_cri.py's; it prints a markdown table with the ratio secure/runc.
# At the end the pods are removed the CRI way and the CRI suite's leftover check runs.
#
#   sudo SC_SHIM=BUILD/shim/containerd-shim-secure-v2 SC_BUILD_DIR=BUILD \
#        SC_CRI_PAUSE=BUILD/tests/cri/sc-cri-pause tests/bench/bench-cri.sh
#
# Variables read (besides testenv.sh's and cri-lib.sh's SC_SHIM, SC_CONFIG, SC_BUILD_DIR,
# SC_CRI_PAUSE):
#   BENCH_RUNS      N, runs per start-up figure (default 5)
#   BENCH_NET_RUNS  throughput runs per direction (default 2)
#   BENCH_HANDLERS  the CRI handlers, the reference first (default "runc secure")
# About 4 minutes at N=5 on a 2-CPU machine where the pod VMs run under TCG (3 min 40 s on
# 2026-12-05, other tests running alongside).

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/testenv.sh
. "$BENCH_DIR/../lib/testenv.sh"
# shellcheck source=tests/cri/cri-lib.sh
. "$BENCH_DIR/../cri/cri-lib.sh"

export BENCH_RUNS=${BENCH_RUNS:-5} BENCH_NET_RUNS=${BENCH_NET_RUNS:-2}
export BENCH_HANDLERS=${BENCH_HANDLERS:-runc secure}
# Both handlers are in the CRI config whatever SC_CRI_HANDLER says; secure makes the set-up wire
# our shim (and its config) into containerd, which a run with runc alone does without.
case " $BENCH_HANDLERS " in
*" secure "*) SC_CRI_HANDLER=secure ;;
*) SC_CRI_HANDLER=runc ;;
esac
cri_setup
# A deadline for the measurements, so that the teardown and the leftover check always run.
CRI_SOCKET="$TESTENV_DIR/containerd.sock" CRI_IMAGE=$IMAGE CRI_WORK="$TESTENV_DIR/work" \
    CRI_SUBNET=$PRIVATE_CONTAINERD_CNI_SUBNET \
    timeout -k 5 1200 "$CRI_PYTHON" -u "$BENCH_DIR/bench_cri.py"
rc=$?

# Where the secure pods' start went, from the shim's "pod start:" line per pod in containerd's
# log (debug level here), before the teardown removes that log: the median of each phase.
grep -o 'pod start: [^"]*' "$TESTENV_DIR/containerd.log" 2>/dev/null | sed 's/^pod start: //; s/ ([a-z]*)//' | awk '
    # "sandbox start 460.2 ms, agent ready 5637.0 ms, ...": one phase per comma-separated field.
    { m = split($0, f, ", ")
      for (i = 1; i <= m; i++) {
          name = f[i]; sub(/ [0-9.]+ ms$/, "", name)
          value = f[i]; sub(/ ms$/, "", value); sub(/^.* /, "", value)
          if (!(name in count)) order[++n] = name
          v[name, ++count[name]] = value } }
    END {
        if (!n) exit
        printf "\nsecure, where a pod start went (shim log, median over %d pods):", count[order[1]]
        for (k = 1; k <= n; k++) {
            name = order[k]; m = count[name]
            # insertion sort (mawk has no asort)
            for (i = 1; i <= m; i++) {
                x = v[name, i] + 0
                for (j = i - 1; j >= 1 && s[j] > x; j--) s[j + 1] = s[j]
                s[j + 1] = x
            }
            printf "%s %s %.0f ms", (k > 1 ? "," : ""), name, m % 2 ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
        }
        print ""
    }'
exit "$rc"
