#!/bin/sh
# Writes the uncompressed ELF kernel (vmlinux) held inside a bzImage (vmlinuz) to OUTPUT, so QEMU
# can boot it through its PVH entry point (about twice as fast to the agent under TCG).
# Exit 1 when no compressed payload in the image decompresses to an ELF file.
# usage: extract-vmlinux.sh VMLINUZ OUTPUT
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 VMLINUZ OUTPUT" >&2
    exit 2
fi
image=$1
output=$2
tmp="$output.tmp.$$"
trap 'rm -f "$tmp"' EXIT

is_elf() {
    [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = "7f454c46" ]
}

# try MAGIC DECOMPRESSOR...: decompresses from every offset where MAGIC occurs until one of them
# yields an ELF file. The payload is followed by other data, so decompressors must stop at the
# end of their stream (xz --single-stream) or only complain about trailing bytes (gzip).
try() {
    magic=$1
    shift
    for offset in $(LC_ALL=C grep -obUaP "$magic" "$image" | cut -d: -f1); do
        tail -c "+$((offset + 1))" "$image" | "$@" >"$tmp" 2>/dev/null || true
        if [ -s "$tmp" ] && is_elf "$tmp"; then
            mv "$tmp" "$output"
            exit 0
        fi
    done
}

try '\xfd\x37\x7a\x58\x5a\x00' xz -dc --single-stream
try '\x28\xb5\x2f\xfd' zstd -dcq
try '\x1f\x8b\x08' gzip -dc
try '\x5d\x00\x00\x00' xz -dc --format=lzma

echo "$0: no compressed ELF kernel found in '$image'" >&2
exit 1
