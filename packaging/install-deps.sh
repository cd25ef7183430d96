#!/bin/sh
# Installs every build, run and test dependency of secure-container on Debian 12 (bookworm);
# with --lean-kernel also what building the lean guest kernel needs (Debian's kernel source and
# its build tools). Idempotent: apt-get skips what is already installed. Run as root.
# usage: install-deps.sh [--lean-kernel]
set -eu

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (apt-get needs it)" >&2
    exit 1
fi

# Build: compiler, meson, code generators and the libraries we link.
build="gcc meson ninja-build pkg-config protobuf-c-compiler libprotobuf-c-dev
       libglib2.0-dev libjson-c-dev libseccomp-dev libcap-dev libvirt-dev check
       libnl-3-dev libnl-route-3-dev libnftables-dev libsoup-3.0-dev"

# Run: libvirt's embedded QEMU driver, QEMU (with virtiofsd), the guest kernel, containerd.
run="libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system qemu-system-x86
     linux-image-amd64 containerd kmod cpio zstd xz-utils iproute2 util-linux procps
     containernetworking-plugins iptables"

# Test: containerd's .proto files (conformance oracle), protoc, runc (differential checks),
# busybox for test images, clang + libFuzzer for the fuzz targets, clang-format (the format
# test), gRPC for the CRI test client, Prometheus' own text-format parser to read the metrics
# endpoint as a scraper does.
test="golang-github-containerd-containerd-dev protobuf-compiler libprotobuf-dev runc
      busybox-static clang clang-format libclang-rt-14-dev llvm psmisc libvirt-clients
      python3-grpcio python3-protobuf libc6-dev nftables python3-prometheus-client"

# The lean guest kernel (meson -Dguest_kernel=lean): Debian's source tarball and the tools its
# build runs.
lean_kernel=""
case "${1:-}" in
"") ;;
--lean-kernel) lean_kernel="linux-source bc bison flex libelf-dev" ;;
*)
    echo "install-deps.sh: unknown argument '$1' (allowed: --lean-kernel)" >&2
    exit 2
    ;;
esac

export DEBIAN_FRONTEND=noninteractive
missing=""
for p in $build $run $test $lean_kernel; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    apt-get update
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $missing
fi
