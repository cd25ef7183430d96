#!/bin/sh
# Tests of the guest image builder (packaging/guest): module load order from modules.dep,
# a reproducible initramfs that holds init, its libraries and the listed modules, and the
# extraction of an ELF kernel from a compressed image.
# usage: test-guest-image.sh GUEST_DIR INIT KERNEL_RELEASE
set -eu

guest=$1
init=$2
release=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# --- module-order.sh ----------------------------------------------------------------------
cat >"$tmp/modules.dep" <<'DEP'
kernel/top.ko: kernel/mid-a.ko kernel/mid-b.ko kernel/base.ko
kernel/mid-a.ko: kernel/base.ko
kernel/mid-b.ko: kernel/base.ko
kernel/base.ko:
kernel/other-thing.ko.xz:
kernel/loop-a.ko: kernel/loop-b.ko
kernel/loop-b.ko: kernel/loop-a.ko
DEP
order=$("$guest/module-order.sh" "$tmp/modules.dep" top other-thing | tr '\n' ' ')
[ "$order" = "kernel/base.ko kernel/mid-a.ko kernel/mid-b.ko kernel/top.ko kernel/other-thing.ko.xz " ] ||
    fail "module order: '$order'"
"$guest/module-order.sh" "$tmp/modules.dep" missing 2>/dev/null && fail "unknown module accepted"
"$guest/module-order.sh" "$tmp/modules.dep" loop-a 2>/dev/null && fail "dependency cycle accepted"

# --- build-initramfs.sh -------------------------------------------------------------------
"$guest/build-initramfs.sh" "$init" "$release" "$tmp/a.img"
sleep 1 # a later build must still give the same bytes
"$guest/build-initramfs.sh" "$init" "$release" "$tmp/b.img"
cmp -s "$tmp/a.img" "$tmp/b.img" || fail "two builds of the initramfs differ"

mkdir "$tmp/root"
(cd "$tmp/root" && cpio --quiet -id <"$tmp/a.img")
strip -o "$tmp/init.stripped" "$init"
cmp -s "$tmp/init.stripped" "$tmp/root/init" || fail "/init is not the given init, stripped"
cpio --quiet -tv <"$tmp/a.img" | awk '$3 != "root" || $4 != "root" || $8 != "1970" { bad = 1 }
    END { exit bad }' || fail "entries not owned by root with timestamp 0"

for lib in $(ldd "$init" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    [ -f "$tmp/root$lib" ] || fail "library '$lib' missing"
done

list="$tmp/root/etc/secure-agent/modules"
[ -s "$list" ] || fail "no module list"
for name in virtio_pci virtio-rng virtio_console virtiofs 9pnet_virtio 9p overlay \
    vmw_vsock_virtio_transport virtio_net bridge; do
    grep -q "/$name\.ko" "$list" || fail "module '$name' not listed"
done
# Every module is in the image, and comes after everything it depends on.
seen=""
while read -r path; do
    [ -f "$tmp/root$path" ] || fail "listed module '$path' not in the image"
    [ "$(head -c 4 "$tmp/root$path" | od -An -tx1 | tr -d ' \n')" = "7f454c46" ] ||
        fail "'$path' is not ELF"
    tail -c 28 "$tmp/root$path" | grep -q 'Module signature appended' &&
        fail "'$path' still carries its signature"
    rel=${path#/lib/modules/$release/}
    for dep in $(awk -v m="$rel:" '$1 == m { for (i = 2; i <= NF; i++) print $i }' \
        "/lib/modules/$release/modules.dep"); do
        case " $seen " in *" $dep "*) ;; *) fail "'$rel' listed before its dependency '$dep'" ;; esac
    done
    seen="$seen $rel"
done <"$list"

# --- extract-vmlinux.sh -------------------------------------------------------------------
# A fake compressed image: junk, a gzip stream of an ELF file, junk.
elf=$init
{ head -c 5000 /dev/zero; gzip -c "$elf"; head -c 300 /dev/zero; } >"$tmp/fake-bzimage"
"$guest/extract-vmlinux.sh" "$tmp/fake-bzimage" "$tmp/fake-vmlinux" || fail "gzip payload not found"
cmp -s "$elf" "$tmp/fake-vmlinux" || fail "extracted gzip payload differs"
head -c 100000 /dev/urandom >"$tmp/noise"
"$guest/extract-vmlinux.sh" "$tmp/noise" "$tmp/noise-out" 2>/dev/null && fail "noise accepted"
[ ! -e "$tmp/noise-out" ] || fail "output written for noise"
if [ -f "/boot/vmlinuz-$release" ]; then
    "$guest/extract-vmlinux.sh" "/boot/vmlinuz-$release" "$tmp/vmlinux" || fail "real kernel"
    [ "$(head -c 4 "$tmp/vmlinux" | od -An -tx1 | tr -d ' \n')" = "7f454c46" ] ||
        fail "extracted kernel is not ELF"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "guest image builder: all checks passed"
