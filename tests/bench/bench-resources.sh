#!/bin/bash
# Benchmark (figures are printed, never asserted): pod resources, runc and secure side by side in
# one run on the same private containerd (CRI plugin), set up as the CRI suite sets it up:
#   - UpdateContainerResources that needs 256 MiB and one vCPU more in the pod's VM (hot-plug);
#   - the host memory (PSS) per pod with 1 and 10 pods, idle and with each container holding
#     200 MiB: what packaging/kubernetes/runtimeclass.yaml's overhead.podFixed comes from.
# The measurements are bench_resources.py's; the shim's own "hot-plug:" lines (libvirt and
# guest time) are summarized from containerd's log at the end.
#
#   SC_SHIM=BUILD/shim/containerd-shim-secure-v2 SC_BUILD_DIR=BUILD \
#       SC_CRI_PAUSE=BUILD/tests/cri/sc-cri-pause tests/bench/bench-resources.sh
#
# Variables read (besides testenv.sh's and cri-lib.sh's): BENCH_RUNS (hot-plug runs, default 3),
# BENCH_POD_COUNTS (default "1 10"), BENCH_HANDLERS (default "runc secure").

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/testenv.sh
. "$BENCH_DIR/../lib/testenv.sh"
# shellcheck source=tests/cri/cri-lib.sh
. "$BENCH_DIR/../cri/cri-lib.sh"

export BENCH_RUNS=${BENCH_RUNS:-3} BENCH_POD_COUNTS=${BENCH_POD_COUNTS:-1 10}
export BENCH_HANDLERS=${BENCH_HANDLERS:-runc secure}
case " $BENCH_HANDLERS " in
*" secure "*) SC_CRI_HANDLER=secure ;;
*) SC_CRI_HANDLER=runc ;;
esac
cri_setup
CRI_SOCKET="$TESTENV_DIR/containerd.sock" CRI_IMAGE=$IMAGE CRI_WORK="$TESTENV_DIR/work" \
    timeout -k 5 2400 "$CRI_PYTHON" -u "$BENCH_DIR/bench_resources.py"
rc=$?
echo
echo "secure, the shim's hot-plug lines:"
grep -o 'hot-plug: the guest has [^"]*' "$TESTENV_DIR/containerd.log" 2>/dev/null | sed 's/^/  /'
exit "$rc"
