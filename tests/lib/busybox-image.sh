#!/bin/bash
# Builds a small OCI image (an oci-layout tarball) from Debian's busybox-static, with no network,
# so that `ctr image import` can load it: no registry is reachable from the test machines.
#
# Run:    tests/lib/busybox-image.sh OUT.tar [IMAGE-NAME]     (prints the image name)
# Source: . tests/lib/busybox-image.sh; busybox_image_build OUT.tar [IMAGE-NAME]
#         busybox_image_import [IMAGE-NAME]   (builds into a temp dir and imports it with ctr,
#                                              which uses $CONTAINERD_ADDRESS / $CONTAINERD_NAMESPACE)
#
# The layer is an uncompressed, reproducible tar (sorted, owner 0, mtime 0), so the same busybox
# always gives the same digests.

BUSYBOX_IMAGE_DEFAULT_NAME="localhost/secure-container/busybox:latest"
BUSYBOX_IMAGE_BINARY="${BUSYBOX_IMAGE_BINARY:-/bin/busybox}"

# Writes the blob in file $2 into the layout dir $1 under its sha256; prints "DIGEST SIZE".
busybox_image_add_blob() {
    local layout=$1 file=$2 sum size
    sum=$(sha256sum "$file" | cut -d' ' -f1) || return 1
    size=$(stat -c %s "$file") || return 1
    mv "$file" "$layout/blobs/sha256/$sum" || return 1
    echo "sha256:$sum $size"
}

# Fills directory $1 with the root filesystem: busybox, one symlink per applet, and the few
# files and directories a container runtime expects to find.
busybox_image_fill_rootfs() {
    local root=$1 applet
    mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" \
        "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/root" "$root/run" || return 1
    chmod 1777 "$root/tmp"
    cp "$BUSYBOX_IMAGE_BINARY" "$root/bin/busybox" || return 1
    chmod 0755 "$root/bin/busybox"
    for applet in $("$BUSYBOX_IMAGE_BINARY" --list-full); do
        [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet" || return 1
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
        >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

# oci_image_build OUT.tar IMAGE-NAME FILL-FUNCTION RUN-CONFIG: writes the oci-layout tarball
# OUT.tar of a one-layer image whose root FILL-FUNCTION DIR fills, with RUN-CONFIG (JSON, e.g.
# {"Cmd": ...}) as the image's run config. Every test image is made this way.
oci_image_build() {
    local out=$1 name=$2 fill=$3 run_config=$4 work rc
    work=$(mktemp -d "${TMPDIR:-/tmp}/oci-image.XXXXXX") || return 1
    oci_image_write_layout "$work" "$name" "$fill" "$run_config"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        tar -C "$work/layout" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
            -cf "$out" oci-layout index.json blobs
        rc=$?
    fi
    rm -rf "$work"
    return "$rc"
}

# busybox_image_build OUT.tar [IMAGE-NAME]: writes the oci-layout tarball OUT.tar.
busybox_image_build() {
    local out=$1 name=${2:-$BUSYBOX_IMAGE_DEFAULT_NAME}
    if [ ! -x "$BUSYBOX_IMAGE_BINARY" ]; then
        echo "busybox-image: '$BUSYBOX_IMAGE_BINARY' missing (apt-get install busybox-static)" >&2
        return 1
    fi
    if ! busybox_image_is_static "$BUSYBOX_IMAGE_BINARY"; then
        echo "busybox-image: '$BUSYBOX_IMAGE_BINARY' is not statically linked" >&2
        return 1
    fi
    oci_image_build "$out" "$name" busybox_image_fill_rootfs \
        '{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"}'
}

# A static binary has no program interpreter; ldd is not reliable on static-pie binaries.
busybox_image_is_static() {
    ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'
}

# Writes the OCI layout of image $2 (root filled by function $3, run config $4) into $1/layout,
# using $1 as scratch space.
oci_image_write_layout() {
    local work=$1 name=$2 fill=$3 run_config=$4 layout=$1/layout layer config manifest ref
    mkdir -p "$work/rootfs" "$layout/blobs/sha256" || return 1
    "$fill" "$work/rootfs" || return 1
    tar -C "$work/rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
        -cf "$work/layer.tar" . || return 1
    layer=$(busybox_image_add_blob "$layout" "$work/layer.tar") || return 1

    cat >"$work/config.json" <<EOF || return 1
{"architecture":"amd64","os":"linux","config":$run_config,"rootfs":{"type":"layers","diff_ids":["${layer% *}"]},"history":[{"created_by":"secure-container tests/lib/busybox-image.sh"}]}
EOF
    config=$(busybox_image_add_blob "$layout" "$work/config.json") || return 1

    cat >"$work/manifest.json" <<EOF || return 1
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${config% *}","size":${config#* }},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"${layer% *}","size":${layer#* }}]}
EOF
    manifest=$(busybox_image_add_blob "$layout" "$work/manifest.json") || return 1

    ref=${name##*:}
    [ "$ref" != "$name" ] || ref=latest
    cat >"$layout/index.json" <<EOF || return 1
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"${manifest% *}","size":${manifest#* },"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"$name","org.opencontainers.image.ref.name":"$ref"}}]}
EOF
    echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
}

# busybox_image_import [IMAGE-NAME]: builds the image and imports it into the containerd that
# ctr reaches ($CONTAINERD_ADDRESS); prints the image name.
busybox_image_import() {
    local name=${1:-$BUSYBOX_IMAGE_DEFAULT_NAME} tmp rc
    tmp=$(mktemp "${TMPDIR:-/tmp}/busybox-image.XXXXXX.tar") || return 1
    busybox_image_build "$tmp" "$name" && ctr image import "$tmp" >/dev/null
    rc=$?
    rm -f "$tmp"
    [ "$rc" -eq 0 ] && echo "$name"
    return "$rc"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    if [ $# -lt 1 ] || [ $# -gt 2 ]; then
        echo "usage: $0 OUT.tar [IMAGE-NAME]" >&2
        exit 2
    fi
    busybox_image_build "$1" "${2:-$BUSYBOX_IMAGE_DEFAULT_NAME}" || exit 1
    echo "${2:-$BUSYBOX_IMAGE_DEFAULT_NAME}"
fi
