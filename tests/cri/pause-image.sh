#!/bin/bash
# Builds the CRI tests' sandbox ("pause") image as an oci-layout tarball, with no network: one
# layer holding a static pause binary as /pause, which is the image's entrypoint. Reproducible
# the same way as tests/lib/busybox-image.sh (whose blob helper it uses): sorted tar, owner 0,
# mtime 0, so the same binary always gives the same digests.
#
# Source: . tests/cri/pause-image.sh; pause_image_build OUT.tar IMAGE-NAME PAUSE-BINARY
# Run:    tests/cri/pause-image.sh OUT.tar IMAGE-NAME PAUSE-BINARY

PAUSE_IMAGE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/busybox-image.sh
. "$PAUSE_IMAGE_DIR/../lib/busybox-image.sh"

# Writes the layout of image $2 with binary $3 into $1/layout, using $1 as scratch space.
pause_image_write_layout() {
    local work=$1 name=$2 binary=$3 layout=$1/layout layer config manifest ref
    mkdir -p "$work/rootfs" "$layout/blobs/sha256" || return 1
    cp "$binary" "$work/rootfs/pause" && chmod 0755 "$work/rootfs/pause" || return 1
    tar -C "$work/rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
        -cf "$work/layer.tar" . || return 1
    layer=$(busybox_image_add_blob "$layout" "$work/layer.tar") || return 1

    # The sandbox runs as root: the kubelet's pause image does the same (65535 in newer ones,
    # but nothing here depends on it).
    cat >"$work/config.json" <<EOF || return 1
{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["${layer% *}"]},"history":[{"created_by":"secure-container tests/cri/pause-image.sh"}]}
EOF
    config=$(busybox_image_add_blob "$layout" "$work/config.json") || return 1

    cat >"$work/manifest.json" <<EOF || return 1
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${config% *}","size":${config#* }},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"${layer% *}","size":${layer#* }}]}
EOF
    manifest=$(busybox_image_add_blob "$layout" "$work/manifest.json") || return 1

    ref=${name##*:}
    cat >"$layout/index.json" <<EOF || return 1
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"${manifest% *}","size":${manifest#* },"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"$name","org.opencontainers.image.ref.name":"$ref"}}]}
EOF
    echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
}

# pause_image_build OUT.tar IMAGE-NAME PAUSE-BINARY
pause_image_build() {
    local out=$1 name=$2 binary=$3 work rc
    if ! busybox_image_is_static "$binary"; then
        echo "pause-image: '$binary' is not a static executable" >&2
        return 1
    fi
    work=$(mktemp -d "${TMPDIR:-/tmp}/pause-image.XXXXXX") || return 1
    pause_image_write_layout "$work" "$name" "$binary"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        tar -C "$work/layout" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
            -cf "$out" oci-layout index.json blobs
        rc=$?
    fi
    rm -rf "$work"
    return "$rc"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    if [ $# -ne 3 ]; then
        echo "usage: $0 OUT.tar IMAGE-NAME PAUSE-BINARY" >&2
        exit 2
    fi
    pause_image_build "$1" "$2" "$3"
fi
