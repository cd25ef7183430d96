#!/bin/sh
# Prints the release of the newest installed kernel that has both /boot/vmlinuz-RELEASE and
# its modules (/lib/modules/RELEASE/modules.dep): the guest kernel the image is built from.
# usage: kernel-release.sh [BOOT_DIR [MODULES_DIR]]
set -eu

boot=${1:-/boot}
modules=${2:-/lib/modules}

for image in $(printf "%s\n" "$boot"/vmlinuz-* | sort -rV); do
    release=${image#"$boot"/vmlinuz-}
    if [ -f "$modules/$release/modules.dep" ]; then
        echo "$release"
        exit 0
    fi
done
echo "$0: no kernel with modules in '$boot' and '$modules' (install linux-image-amd64)" >&2
exit 1
