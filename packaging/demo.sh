#!/bin/bash
# The main job: install secure-container, then run `uname -a` in a container through containerd
# with the runtime io.containerd.secure.v2, and show that the container sees another kernel than
# the host. Uses a private containerd (its own root, state and sockets in a temp dir) unless
# --system-containerd is given; builds the busybox image locally (no registry needed); removes
# everything it created when it ends, also on failure or Ctrl-C.
#
#   packaging/demo.sh [--no-install] [--system-containerd]     (as root)
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
install=1
system=0
for arg in "$@"; do
    case "$arg" in
    --no-install) install=0 ;;
    --system-containerd) system=1 ;;
    *)
        echo "demo: unknown argument '$arg' (allowed: --no-install, --system-containerd)" >&2
        exit 1
        ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "demo: run as root (sudo $0)" >&2
    exit 1
fi

# shellcheck source=tests/lib/private-containerd.sh
. "$src/tests/lib/private-containerd.sh"
# shellcheck source=tests/lib/busybox-image.sh
. "$src/tests/lib/busybox-image.sh"

say() { echo "demo: $*"; }

[ "$install" = 0 ] || "$src/packaging/install.sh"

id=demo-$$
dir=
cleanup() {
    if [ "$system" = 1 ]; then
        # Our own namespace in the system containerd: remove what we put there, then it.
        ctr task kill -s SIGKILL "$id" >/dev/null 2>&1 || true
        ctr task delete "$id" >/dev/null 2>&1 || true
        ctr container delete "$id" >/dev/null 2>&1 || true
        ctr image remove "$BUSYBOX_IMAGE_DEFAULT_NAME" >/dev/null 2>&1 || true
        # The namespace can go once containerd's garbage collector has removed the image's blobs.
        local _
        for _ in $(seq 20); do
            ctr namespace remove "$CONTAINERD_NAMESPACE" >/dev/null 2>&1 && break
            sleep 0.5
        done
    else
        private_containerd_stop "$dir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$system" = 1 ]; then
    export CONTAINERD_ADDRESS=/run/containerd/containerd.sock
    export CONTAINERD_NAMESPACE=secure-container-demo
    ctr version >/dev/null || { say "the system containerd does not answer at $CONTAINERD_ADDRESS"; exit 1; }
    say "using the system containerd, namespace $CONTAINERD_NAMESPACE"
else
    dir=$(mktemp -d /tmp/secure-container-demo.XXXXXX)
    private_containerd_start "$dir"
    say "started a private containerd in $dir"
fi
image=$(busybox_image_import "$BUSYBOX_IMAGE_DEFAULT_NAME")
say "imported $image (built from /bin/busybox)"

say "ctr run --runtime io.containerd.secure.v2 --rm $image $id uname -a"
start=$(date +%s.%N)
out=$(timeout -k 5 300 ctr run --runtime io.containerd.secure.v2 --rm "$image" "$id" \
    sh -c 'uname -a; cat /proc/sys/kernel/random/boot_id')
end=$(date +%s.%N)
guest_uname=$(printf '%s\n' "$out" | head -n 1)
guest_boot=$(printf '%s\n' "$out" | tail -n 1)
host_boot=$(cat /proc/sys/kernel/random/boot_id)

echo
echo "host:      $(uname -a)"
echo "container: $guest_uname"
echo "host boot id:      $host_boot"
echo "container boot id: $guest_boot"
echo "ctr run took $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }') s"
echo
if [ "$guest_boot" = "$host_boot" ] || [ -z "$guest_boot" ]; then
    say "FAILED: the container did not run on a kernel of its own"
    exit 1
fi
say "the container ran on its own kernel, in a VM"
