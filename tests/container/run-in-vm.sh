#!/bin/sh
# Runs container test binaries inside a throwaway QEMU VM (TCG) whose init is a busybox shell:
# a kernel with pure cgroup v2 (every controller available, unlike hybrid cgroup v1 hosts) and an
# initramfs root (where pivot_root is refused, so the builder's fallback runs). Each binary must
# exit 0 in the guest.
# usage: run-in-vm.sh TEST_BINARY...
set -eu

skip() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL (CI=true, cannot skip): $1" >&2
        exit 1
    fi
    echo "SKIP: $1" >&2
    exit 77
}

[ $# -ge 1 ] || { echo "usage: $0 TEST_BINARY..." >&2; exit 2; }
qemu=$(command -v qemu-system-x86_64) || skip "needs qemu-system-x86_64 (Debian package qemu-system-x86)"
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -n "$kernel" ] && [ -r "$kernel" ] || skip "needs a readable kernel in /boot/vmlinuz-*"
[ -x /bin/busybox ] || skip "needs /bin/busybox (Debian package busybox-static)"
command -v cpio >/dev/null || skip "needs cpio"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
root=$work/root
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/tests"
cp /bin/busybox "$root/bin/busybox"

names=""
for test in "$@"; do
    name=$(basename "$test")
    cp "$test" "$root/tests/$name"
    names="$names $name"
done
# The shared libraries ldd names, at the same paths in the guest.
ldd "$@" | awk '/:$/ { next } $2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    sort -u |
    while read -r lib; do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done

cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t tmpfs tmp /tmp
/bin/busybox mount -t cgroup2 cgroup2 /sys/fs/cgroup
cd /
for name in $names; do
    /tests/\$name
    echo "sc-result \$name \$?"
done
/bin/busybox poweroff -f
EOF
chmod 0755 "$root/init"
(cd "$root" && find . | cpio --quiet -o -H newc -R 0:0) >"$work/initrd"

# The guest powers itself off; timeout only guards against a hung guest.
timeout -k 10 800 "$qemu" -accel tcg -m 1024 -smp 2 -nographic -no-reboot \
    -kernel "$kernel" -initrd "$work/initrd" \
    -append "console=ttyS0 panic=-1 quiet" >"$work/console.log" 2>&1 || true
tr -d '\r' <"$work/console.log" | grep -v '^\s*$' | sed -n '/Running suite/,$p'

status=0
for name in $names; do
    result=$(tr -d '\r' <"$work/console.log" | sed -n "s/^sc-result $name \([0-9]*\)$/\1/p")
    if [ "$result" != 0 ]; then
        echo "FAIL: $name exited with '${result:-no result}' in the VM" >&2
        status=1
    fi
done
exit $status
