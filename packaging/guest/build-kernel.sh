#!/bin/sh
# Writes the guest kernel for RELEASE to OUTPUT: the uncompressed ELF vmlinux extracted from
# /boot/vmlinuz-RELEASE (PVH direct boot, about half the start time under TCG), or that bzImage
# itself when no ELF can be extracted (QEMU boots both).
# usage: build-kernel.sh RELEASE OUTPUT [BOOT_DIR]
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 RELEASE OUTPUT [BOOT_DIR]" >&2
    exit 2
fi
image=${3:-/boot}/vmlinuz-$1
output=$2

if ! "$(dirname "$0")/extract-vmlinux.sh" "$image" "$output"; then
    echo "$0: warning: using the compressed '$image' (slower boot)" >&2
    cp "$image" "$output.tmp"
    mv "$output.tmp" "$output"
fi
