#!/bin/bash
# Builds the CRI tests' sandbox ("pause") image as an oci-layout tarball, with no network: one
# layer holding a static pause binary as /pause, which is the image's entrypoint. Reproducible
# the same way as tests/lib/busybox-image.sh (whose image writer it uses): sorted tar, owner 0,
# mtime 0, so the same binary always gives the same digests.
#
# Source: . tests/cri/pause-image.sh; pause_image_build OUT.tar IMAGE-NAME PAUSE-BINARY
# Run:    tests/cri/pause-image.sh OUT.tar IMAGE-NAME PAUSE-BINARY

PAUSE_IMAGE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/busybox-image.sh
. "$PAUSE_IMAGE_DIR/../lib/busybox-image.sh"

# The image's root: the pause binary alone, as /pause.
pause_image_fill_rootfs() {
    cp "$PAUSE_IMAGE_BINARY" "$1/pause" && chmod 0755 "$1/pause"
}

# pause_image_build OUT.tar IMAGE-NAME PAUSE-BINARY. The sandbox runs as root: the kubelet's
# pause image does the same (65535 in newer ones, but nothing here depends on it).
pause_image_build() {
    local out=$1 name=$2
    PAUSE_IMAGE_BINARY=$3
    if ! busybox_image_is_static "$PAUSE_IMAGE_BINARY"; then
        echo "pause-image: '$PAUSE_IMAGE_BINARY' is not a static executable" >&2
        return 1
    fi
    oci_image_build "$out" "$name" pause_image_fill_rootfs '{"Entrypoint":["/pause"],"WorkingDir":"/"}'
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    if [ $# -ne 3 ]; then
        echo "usage: $0 OUT.tar IMAGE-NAME PAUSE-BINARY" >&2
        exit 2
    fi
    pause_image_build "$1" "$2" "$3"
fi
