#!/bin/bash
# Runs one CRI end-to-end case (cri_cases.py CASE) against a private containerd with its CRI
# plugin, for the runtime handler under test, then checks that nothing is left behind.
#
#   tests/cri/cri-test.sh CASE          (meson: meson test -C BUILD --suite cri)
#
# Variables read (besides testenv.sh's SC_SHIM, SC_CONFIG, SC_BUILD_DIR, CI):
#   SC_CRI_HANDLER  the CRI runtime handler under test: secure (default) or runc, which proves
#                   the harness: every case must pass with runc
#   SC_CRI_PAUSE    the static pause binary for the sandbox image (meson passes the one it
#                   built); unset: compiled from pause.c into the test's directory
#
# What the leftover check covers, on top of testenv.sh's processes, mounts and state dirs:
# network namespaces (/run/netns is a tmpfs of the test's own mount namespace), the test's
# bridge and anything still attached to it, cgroups below the test's cgroup parent, and CNI's
# iptables chains and rules for the test's subnet.
#
# The set-up and the teardown are cri-lib.sh's (the CRI benchmark uses them too).

CRI_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/testenv.sh
. "$CRI_DIR/../lib/testenv.sh"
# shellcheck source=tests/cri/cri-lib.sh
. "$CRI_DIR/cri-lib.sh"

CRI_CASE=${1:-}

[ -n "$CRI_CASE" ] || { echo "usage: $0 CASE" >&2; exit 2; }
cri_setup
# 200 s for the case: with set-up and teardown still inside meson's 300 s, so the clean-up
# always runs.
CRI_SOCKET="$TESTENV_DIR/containerd.sock" CRI_HANDLER=$SC_CRI_HANDLER \
    CRI_IMAGE=$IMAGE CRI_WORK="$TESTENV_DIR/work" \
    CRI_SUBNET=$PRIVATE_CONTAINERD_CNI_SUBNET CRI_BRIDGE=$PRIVATE_CONTAINERD_CNI_BRIDGE \
    timeout -k 5 200 "$CRI_PYTHON" -B -u "$CRI_DIR/cri_cases.py" "$CRI_CASE"
