#!/bin/bash
# The CRI suite's set-up and teardown, shared by cri-test.sh (one case) and
# tests/bench/bench-cri.sh: a private containerd with its CRI plugin, a CNI bridge and cgroup
# parent of the run's own, the pause and busybox images, and a leftover check at the end.
#
#   . tests/lib/testenv.sh     # first, from the script itself: it makes that script a subreaper
#   . tests/cri/cri-lib.sh
#   cri_setup                  # traps EXIT: cri_teardown removes the pods and checks leftovers
#
# Variables read (besides testenv.sh's SC_SHIM, SC_CONFIG, SC_BUILD_DIR, CI):
#   SC_CRI_HANDLER  the CRI runtime handler under test: secure (default) or runc, which proves
#                   the harness: every case must pass with runc. Both handlers are configured
#                   either way; this one decides whether our shim is wired in (secure).
#   SC_CRI_PAUSE    the static pause binary for the sandbox image (meson passes the one it
#                   built); unset: compiled from pause.c into the test's directory
#
# What the leftover check covers, on top of testenv.sh's processes, mounts and state dirs:
# network namespaces (/run/netns is a tmpfs of the test's own mount namespace), the test's
# bridge and anything still attached to it, cgroups below the test's cgroup parent, and CNI's
# iptables chains and rules for the test's subnet.

# Where this file is, not the sourcing script ($0 is the bench's when it sources us).
CRI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/cri/pause-image.sh
. "$CRI_DIR/pause-image.sh"

SC_CRI_HANDLER=${SC_CRI_HANDLER:-secure}
CRI_PYTHON=/usr/bin/python3
CRI_PAUSE_IMAGE=localhost/sc-test/pause:1
# Chains portmap creates once per host and never removes; shared by every CNI user.
CRI_SHARED_CHAINS='^CNI-HOSTPORT-(DNAT|SETMARK|MASQ)$'

# Progress lines carry the seconds since the test started: set-up and teardown cost time too.
cri_log() { echo "# [${SECONDS}s] $*" >&2; }

# Skips (exit 77) when this machine cannot run CRI pods; in CI it fails instead.
cri_check_requirements() {
    local need
    [ "$(id -u)" -eq 0 ] || testenv_skip "needs root (containerd, CNI, mounts)"
    for need in containerd ctr ip iptables-save protoc cc "$CRI_PYTHON"; do
        command -v "$need" >/dev/null || testenv_skip "'$need' missing"
    done
    for need in bridge host-local loopback portmap; do
        [ -x "/usr/lib/cni/$need" ] || testenv_skip "CNI plugin /usr/lib/cni/$need missing (containernetworking-plugins)"
    done
    "$CRI_PYTHON" -c 'import grpc, google.protobuf' 2>/dev/null \
        || testenv_skip "python3-grpcio or python3-protobuf missing"
    case "$SC_CRI_HANDLER" in
    secure) SC_RUNTIME=io.containerd.secure.v2 ;;
    runc) SC_RUNTIME=io.containerd.runc.v2 ;;
    *) testenv_fail "SC_CRI_HANDLER='$SC_CRI_HANDLER': expected secure or runc" ;;
    esac
}

# The names this run owns, random so that runs on one machine never share them.
cri_choose_names() {
    local id
    id=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
    export CRI_RUN_ID=$id
    export CRI_CGROUP_PARENT="/sc-cri-test-$id"
    export PRIVATE_CONTAINERD_CNI_BRIDGE="sc$id"
    export PRIVATE_CONTAINERD_CNI_SUBNET
    # A /24 no route on this host uses yet (another run's bridge would make pods unreachable).
    while PRIVATE_CONTAINERD_CNI_SUBNET="10.213.$((RANDOM % 256)).0/24" \
        && [ -n "$(ip -4 route show match "$PRIVATE_CONTAINERD_CNI_SUBNET" | grep -v '^default')" ]; do
        :
    done
    export PRIVATE_CONTAINERD_SANDBOX_IMAGE=$CRI_PAUSE_IMAGE
    export PRIVATE_CONTAINERD_CRI=1
}

# A tmpfs over /run/netns in the test's own mount namespace: the CRI plugin's netns files (and
# their nsfs mounts) are then only the test's, and the leftover check sees exactly those.
cri_isolate_netns() {
    [ "${TESTENV_OWN_MOUNTS:-}" = "$$" ] || return 0
    mkdir -p /run/netns && mount -t tmpfs -o mode=0755 sc-cri-netns /run/netns \
        || testenv_fail "cannot mount a tmpfs on /run/netns in the test's mount namespace"
}

# The cgroup directories of every hierarchy (v1 controllers and the v2 one) for our parent.
cri_cgroup_parents() {
    local base=${CRI_CGROUP_PARENT#/} dir
    for dir in /sys/fs/cgroup/"$base" /sys/fs/cgroup/*/"$base"; do
        [ -d "$dir" ] && echo "$dir"
    done
    return 0
}

# The extra leftover kinds (TESTENV_SNAPSHOT_EXTRA of testenv.sh).
cri_snapshot() {
    local dir
    [ -d /run/netns ] && find /run/netns -mindepth 1 -maxdepth 1 -printf 'netns %p\n'
    ip -o link show dev "$PRIVATE_CONTAINERD_CNI_BRIDGE" 2>/dev/null \
        | awk -F': ' '{ print "link " $2 }'
    ip -o link show master "$PRIVATE_CONTAINERD_CNI_BRIDGE" 2>/dev/null \
        | awk -F': ' '{ sub(/@.*/, "", $2); print "link " $2 " (on the bridge)" }'
    for dir in $(cri_cgroup_parents); do
        find "$dir" -type d -printf 'cgroup %p\n'
    done
    iptables-save 2>/dev/null | awk -v shared="$CRI_SHARED_CHAINS" \
        '/^:CNI-/ { c = substr($1, 2); if (c !~ shared) print "iptables-chain " c }'
    iptables-save 2>/dev/null | grep -F -- "${PRIVATE_CONTAINERD_CNI_SUBNET%.0/24}." \
        | sed 's/^/iptables-rule /'
    return 0
}

# What the test made that no runtime removes: the bridge (once nothing is attached to it: what
# is, the leftover check reports) and the cgroup parent (once empty: rmdir fails otherwise).
cri_remove_own_things() {
    local dir
    if [ -z "$(ip -o link show master "$PRIVATE_CONTAINERD_CNI_BRIDGE" 2>/dev/null)" ]; then
        ip link del "$PRIVATE_CONTAINERD_CNI_BRIDGE" 2>/dev/null
    fi
    for dir in $(cri_cgroup_parents); do
        rmdir "$dir" 2>/dev/null
    done
    return 0
}

# After the leftover check: what the runtime left of ours goes too, so that a failed run does
# not leave a machine behind that breaks the next one.
cri_force_cleanup() {
    local link dir
    for link in $(ip -o link show master "$PRIVATE_CONTAINERD_CNI_BRIDGE" 2>/dev/null \
        | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
        ip link del "$link" 2>/dev/null
    done
    ip link del "$PRIVATE_CONTAINERD_CNI_BRIDGE" 2>/dev/null
    for dir in $(cri_cgroup_parents); do
        find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    return 0
}

cri_client() {
    timeout -k 5 180 "$CRI_PYTHON" "$CRI_DIR/cri_client.py" --socket "$TESTENV_DIR/containerd.sock" "$@"
}

cri_teardown() {
    local rc=$? log
    trap - EXIT
    [ "$rc" -eq 0 ] || testenv_show_state
    # Pods go the CRI way first, so that CNI's DEL runs for each (veth, IP, iptables).
    if [ -S "${TESTENV_DIR:-}/containerd.sock" ] && ! cri_client cleanup; then
        echo "FAIL: removing the pods through CRI failed" >&2
        rc=1
    fi
    cri_log "pods removed; stopping containerd"
    log=$(mktemp /tmp/sc-cri-log.XXXXXX)
    private_containerd_stop "${TESTENV_DIR:-}" "$log"
    cri_remove_own_things
    cri_log "containerd stopped; checking for leftovers"
    testenv_check_leftovers || rc=1
    cri_log "done"
    cri_force_cleanup
    testenv_check_sanitizer_reports || rc=1
    if [ "$rc" -ne 0 ]; then
        testenv_show_log "$log"
        echo "--- containerd log, last lines:" >&2
        tail -n 40 "$log" >&2
    fi
    rm -f "$log"
    exit "$rc"
}

# The static pause binary: meson's, or one compiled here.
cri_pause_binary() {
    if [ -n "${SC_CRI_PAUSE:-}" ]; then
        [ -x "$SC_CRI_PAUSE" ] || testenv_fail "SC_CRI_PAUSE='$SC_CRI_PAUSE' is not an executable"
        echo "$SC_CRI_PAUSE"
        return 0
    fi
    cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -o "$TESTENV_DIR/pause" "$CRI_DIR/pause.c" \
        || testenv_fail "cannot compile pause.c statically (libc6-dev)"
    echo "$TESTENV_DIR/pause"
}

# Builds the sandbox image (the pause binary alone) and imports it into k8s.io, the CRI
# plugin's namespace (testenv_setup put busybox there: CONTAINERD_NAMESPACE).
cri_import_images() {
    local pause tar
    pause=$(cri_pause_binary) || exit 1
    tar="$TESTENV_DIR/pause-image.tar"
    pause_image_build "$tar" "$CRI_PAUSE_IMAGE" "$pause" \
        && ctr -n k8s.io images import "$tar" >/dev/null \
        || testenv_fail "pause image build or import failed"
    rm -f "$tar"
}

cri_setup() {
    cri_check_requirements
    cri_choose_names
    testenv_prepare_runtime
    if [ "$SC_RUNTIME" = io.containerd.secure.v2 ] && [ -n "${SC_CONFIG:-}" ]; then
        export PRIVATE_CONTAINERD_SECURE_CONFIG=$SC_CONFIG
    fi
    cri_isolate_netns
    # shellcheck disable=SC2034 # read by testenv_snapshot
    TESTENV_SNAPSHOT_EXTRA=cri_snapshot
    export CONTAINERD_NAMESPACE=k8s.io
    testenv_setup
    trap cri_teardown EXIT
    cri_log "containerd started"
    cri_import_images
    cri_log "images imported; CRI handler $SC_CRI_HANDLER, bridge $PRIVATE_CONTAINERD_CNI_BRIDGE," \
        "subnet $PRIVATE_CONTAINERD_CNI_SUBNET, cgroup parent $CRI_CGROUP_PARENT"
}
