#!/bin/bash
# Churn soak through CRI, as the kubelet drives a node: CYCLES short-lived pods, PARALLEL at a
# time, against one private containerd with its CRI plugin and a CNI bridge of the run's own
# (tests/cri/cri-lib.sh); each cycle runs a pod with its network, a container, an exec whose
# output is checked and one into a resident pod, then stops and removes both (soak_cri.py).
# At the end, with containerd still running, the leak account of soak-lib.sh, plus the host's
# iptables rules (CNI's portmap and bridge write them per pod); then the CRI suite's leftover
# check.
#
#   tests/soak/soak-cri.sh [--pod-every K] [--cycles N] [--parallel P]
#
# Every K-th cycle (default 1: every one) is a pod cycle; the others run their container in the
# resident pod, which then has P containers coming and going at once (soak_cri.py). Default
# 1000 cycles, 4 at a time.
#
# meson runs a short one in every test run (suite soak); README.md has a long run's figures.

SOAK_SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/testenv.sh
. "$SOAK_SCRIPT_DIR/../lib/testenv.sh"
# shellcheck source=tests/cri/cri-lib.sh
. "$SOAK_SCRIPT_DIR/../cri/cri-lib.sh"
# shellcheck source=tests/soak/soak-lib.sh
. "$SOAK_SCRIPT_DIR/soak-lib.sh"

SOAK_POD_EVERY=1
soak_options "$@"
cri_setup
export SOAK_DIR=$TESTENV_DIR/soak
mkdir -p "$SOAK_DIR"
export CRI_SOCKET="$TESTENV_DIR/containerd.sock" CRI_HANDLER=$SC_CRI_HANDLER CRI_IMAGE=$IMAGE \
    CRI_WORK="$TESTENV_DIR/work"

iptables_rules() { echo "iptables-rules $(iptables-save 2>/dev/null | grep -c '^-A')"; }
# shellcheck disable=SC2034 # read by soak_account
SOAK_ACCOUNT_EXTRA=iptables_rules

# Every CRI call it makes has a deadline of its own (cri_client.py). -B: no bytecode caches in
# the source tree.
driver() { "$CRI_PYTHON" -B -u "$SOAK_SCRIPT_DIR/soak_cri.py" "$@"; }

driver resident || testenv_fail "the resident pod did not start"
resident_processes=$(testenv_our_processes "$TESTENV_WATCHED_EXE" | wc -l)
# A first cycle of each kind before the account: containerd, CNI and the resident pod's shim
# make what they keep on first use.
driver warmup || testenv_fail "the warm-up cycle failed"
resident_only() {
    [ "$(testenv_our_processes "$TESTENV_WATCHED_EXE" | wc -l)" -le "$resident_processes" ]
}
testenv_wait_until 60 resident_only || testenv_fail "the warm-up pod's processes did not go"
soak_begin "$(private_containerd_shim_pids "$CRI_SOCKET" | head -n 1)"
driver cycles "$SOAK_CYCLES" "$SOAK_PARALLEL" "$SOAK_POD_EVERY" || testenv_fail "the soak's driver failed"
# As before the account, the resident pod's last removal comes after every exec into it.
driver last || testenv_fail "the last container cycle failed"
for failure in "$SOAK_DIR"/failures-*; do
    [ -e "$failure" ] || continue
    while read -r what name _; do
        [ "$what" = cycle ] && soak_keep_log "${name%:}"
    done <"$failure"
done
soak_end
