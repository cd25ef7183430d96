#!/bin/sh
# Builds the lean guest kernel: Debian's kernel source (linux-source-*, a tarball under /usr/src)
# configured with lean-kernel.config on top of `make allnoconfig`, everything built in, written
# to OUTPUT as an ELF vmlinux for PVH direct boot. About 10 minutes on 2 cores; install.sh
# --lean-kernel runs it. Fails, listing them, when options of lean-kernel.config did not make it
# into the kernel's final config.
# usage: build-lean-kernel.sh OUTPUT [SOURCE_TARBALL]
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 OUTPUT [SOURCE_TARBALL]" >&2
    exit 2
fi
output=$1
tarball=${2:-$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)}
fragment=$(realpath "$(dirname "$0")/lean-kernel.config")
[ -f "$tarball" ] || {
    echo "$0: no kernel source: apt-get install linux-source (or give SOURCE_TARBALL)" >&2
    exit 1
}

work=$(mktemp -d /var/tmp/sc-lean-kernel.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "$0: unpacking $tarball"
tar -C "$work" -xf "$tarball"
src=$(echo "$work"/linux-source-*)

make -C "$src" -s KCONFIG_ALLCONFIG="$fragment" allnoconfig
missing=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$fragment" | while read -r line; do
    grep -qxF "$line" "$src/.config" || echo "$line"
done)
if [ -n "$missing" ]; then
    echo "$0: not in the kernel's config (a dependency is missing):" >&2
    echo "$missing" >&2
    exit 1
fi

echo "$0: building $(make -C "$src" -s kernelrelease) with $(nproc) jobs"
make -C "$src" -s -j"$(nproc)" vmlinux
strip -o "$output.tmp" "$src/vmlinux"
mv "$output.tmp" "$output"
echo "$0: wrote $output ($(du -h "$output" | cut -f1))"
