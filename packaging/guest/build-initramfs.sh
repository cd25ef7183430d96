#!/bin/sh
# Builds the pod VM's initramfs (cpio newc, reproducible: sorted entries, owner 0:0, fixed
# timestamps): INIT as /init with the shared libraries ldd names and the dynamic loader, plus the
# kernel modules the guest needs and /etc/secure-agent/modules listing them in load order (the
# guest boot contract; see docs/design.md).
# usage: build-initramfs.sh INIT KERNEL_RELEASE OUTPUT [MODULES_DIR]
#   MODULES_DIR defaults to /lib/modules/KERNEL_RELEASE; KERNEL_RELEASE '-' is a kernel with
#   everything built in (the lean kernel): no modules.
set -eu

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    echo "usage: $0 INIT KERNEL_RELEASE OUTPUT [MODULES_DIR]" >&2
    exit 2
fi
init=$1
release=$2
output=$3
moddir=${4:-/lib/modules/$release}
here=$(dirname "$0")

# What the guest needs from the modular Debian kernel: virtio PCI transport, the virtio RNG
# (seeds the guest's RNG at once; loaded early, so that the kernel credits its entropy before the
# agent first needs random bytes), console (agent port), vsock, virtio-fs (+ fuse), 9p (fallback
# share), overlay (container roots), the pvpanic device (guest panics reach the host; the
# domain's ISA pvpanic is an ACPI device, which pvpanic-mmio drives), the virtio balloon (free
# page reporting: memory the guest frees goes back to the host), virtio-mem (memory the host
# hot-plugs into the pod VM), virtio-net (the pod's NICs; it needs
# net_failover and failover), and the bridge (a privileged or NET_ADMIN container may make one, as
# on a host; the guest has no modprobe to load it later).
# Dependencies are added from modules.dep (rng-core is built into Debian's kernel).
wanted="virtio_pci virtio-rng virtio_console vmw_vsock_virtio_transport virtiofs 9pnet_virtio 9p
        overlay pvpanic-mmio virtio_balloon virtio_mem virtio_net bridge"

[ -f "$init" ] || { echo "$0: init '$init' not found" >&2; exit 1; }
[ "$release" = - ] || [ -f "$moddir/modules.dep" ] || { echo "$0: '$moddir/modules.dep' not found" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

for d in dev proc sys run tmp etc/secure-agent; do
    mkdir -p "$root/$d"
done
# Without its debug info (1.1 -> 0.3 MiB here): less to unpack at boot and to keep in guest
# memory (with pvpanic-pci gone too, 1.2 MiB less guest RAM per pod).
strip -o "$root/init" "$init"
chmod 0755 "$root/init"

# Shared libraries as ldd resolves them on this host, at the same paths in the guest.
ldd "$init" 2>/dev/null | awk '
    $2 == "=>" && $3 ~ /^\// { print $3 }
    $1 ~ /^\// { print $1 }' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done

# Modules go in without their appended signatures: checking them costs the guest about half a
# second under TCG, and proves nothing here (whoever could change a module in this image could
# change /init). The guest kernel only notes "module verification failed" once.
sig_magic="$root/.sig-magic"
printf '~Module signature appended~\n' >"$sig_magic"
strip_signature() {
    size=$(stat -c %s "$1")
    [ "$size" -gt 40 ] && tail -c 28 "$1" | cmp -s - "$sig_magic" || return 0
    # struct module_signature (12 bytes) precedes the magic; its last 4 bytes: sig_len (BE).
    sig_len=$(tail -c 32 "$1" | head -c 4 | od -An -tu1 |
        awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }')
    truncate -s $((size - 40 - sig_len)) "$1"
}

# Load order: each module after the modules it depends on, as modules.dep says.
order=
[ "$release" = - ] || order=$("$here/module-order.sh" "$moddir/modules.dep" $wanted)
: >"$root/etc/secure-agent/modules"
for rel in $order; do
    dest="/lib/modules/$release/$rel"
    mkdir -p "$root$(dirname "$dest")"
    cp "$moddir/$rel" "$root$dest"
    strip_signature "$root$dest"
    echo "$dest" >>"$root/etc/secure-agent/modules"
done
rm "$sig_magic"

find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet -o -H newc -R 0:0 --reproducible) >"$output.tmp"
mv "$output.tmp" "$output"
