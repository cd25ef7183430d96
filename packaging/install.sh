#!/bin/bash
# Installs secure-container on Debian 12: the dependencies (apt), a build of this tree, and
# under /usr/local: containerd-shim-secure-v2 (bin/, on containerd's PATH), secure-agent
# (libexec/), secure-container-template (bin/), the guest kernel + initramfs and the default
# config (share/secure-container/), and the VM template when the config enables templates.
# Then /etc/secure-container/secure-container.conf (only if absent) and containerd's CRI runtime
# "secure" (see register_containerd below and README.md).
#
#   sudo packaging/install.sh [--edit-containerd-config] [--enable-ksm] [--lean-kernel]
#
# --edit-containerd-config  containerd 1.x with an existing /etc/containerd/config.toml: append the
#                           runtime's tables to it (between marker lines, after a backup) instead
#                           of only printing how to do it.
# --enable-ksm              turn on the kernel's same-page merging (KSM), now and at every boot:
#                           pods resumed from one VM template hold identical pages, which KSM
#                           merges (README.md, "VM templates", for the figures and the cost: ksmd's
#                           CPU, and a timing side channel between pods on the host).
# --lean-kernel             build the guest kernel from Debian's linux-source with everything the
#                           pod VM needs built in (packaging/guest/lean-kernel.config; about 10
#                           minutes on 2 cores) instead of using the installed Debian kernel
#                           (README.md, "The lean guest kernel", for what it gains). Without the
#                           flag, a later install goes back to the Debian kernel.
#
# Idempotent: a second run rebuilds, reinstalls the same files and changes nothing else. What it
# did is recorded under /var/lib/secure-container/install for packaging/uninstall.sh.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${SC_INSTALL_BUILD_DIR:-$src/build-install}
# shellcheck source=packaging/install-paths.sh
. "$src/packaging/install-paths.sh"
edit_containerd_config=0
enable_ksm=0
guest_kernel=debian
deps_args=()

say() { echo "install: $*"; }
die() {
    echo "install: $*" >&2
    exit 1
}

for arg in "$@"; do
    case "$arg" in
    --edit-containerd-config) edit_containerd_config=1 ;;
    --enable-ksm) enable_ksm=1 ;;
    --lean-kernel)
        guest_kernel=lean
        deps_args=(--lean-kernel)
        ;;
    *) die "unknown argument '$arg' (allowed: --edit-containerd-config, --enable-ksm, --lean-kernel)" ;;
    esac
done
[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0)"

# Prints the outputs of the targets that meson installs, relative to the build dir.
installed_targets() {
    meson introspect "$build" --targets | python3 -c '
import json, os, sys
for target in json.load(sys.stdin):
    if target["installed"]:
        for path in target["filename"]:
            print(os.path.relpath(path, sys.argv[1]))
' "$build"
}

# Builds the tree and installs it; keeps meson's list of installed files for uninstall.sh.
build_and_install() {
    say "building in $build"
    if [ -f "$build/build.ninja" ]; then
        meson setup --reconfigure "$build" --prefix "$prefix" -Dguest_kernel="$guest_kernel"
    else
        meson setup "$build" --prefix "$prefix" -Dguest_kernel="$guest_kernel"
    fi
    # Only what gets installed: the test programs are tests/run.sh's business.
    installed_targets | xargs ninja -C "$build"
    meson install -C "$build" --no-rebuild
    # Union with earlier runs, so uninstall also removes files an older version installed.
    sort -u <(grep -v '^#' "$build/meson-logs/install-log.txt") \
        <(cat "$record/files" 2>/dev/null) >"$record/files.new"
    mv "$record/files.new" "$record/files"
    local f
    for f in bin/containerd-shim-secure-v2 bin/secure-container libexec/secure-agent \
        share/secure-container/vmlinux \
        share/secure-container/initramfs.img share/secure-container/secure-container.conf; do
        [ -e "$prefix/$f" ] || die "the build did not install $prefix/$f"
    done
    say "installed $(wc -l <"$record/files") files under $prefix"
}

# libvirt's embedded QEMU driver refuses to start without this system user (libvirt-daemon-system
# creates it; this covers systems where that package's scripts did not run).
ensure_libvirt_user() {
    getent passwd libvirt-qemu >/dev/null && return 0
    useradd --system --user-group --no-create-home --home-dir /var/lib/libvirt \
        --shell /usr/sbin/nologin libvirt-qemu
    touch "$record/created-libvirt-qemu-user"
    say "created the system user libvirt-qemu"
}

install_config() {
    if [ -e "$conf" ]; then
        say "keeping the existing $conf"
        return 0
    fi
    install -D -m 0644 "$prefix/share/secure-container/secure-container.conf" "$conf"
    sha256sum "$conf" >"$record/config.sha256"
    say "wrote $conf"
}

# The version-2 tables to append to an existing config.toml: no "version" line, and no runc
# table when config.toml defines its own.
v2_tables_for_append() {
    local snippet=$src/packaging/containerd/secure-runtime-v2.toml keep_runc=1
    grep -q 'runtimes\.runc\]' "$containerd_conf" && keep_runc=0
    awk -v keep_runc="$keep_runc" '
        /^version *=/ { next }
        /^ *\[/ { skip = (!keep_runc && $0 ~ /runtimes\.runc\]/) }
        !skip' "$snippet"
}

append_to_containerd_conf() {
    grep -q '^ *version *= *2' "$containerd_conf" \
        || die "$containerd_conf is not a version 2 config; add the runtime by hand (README.md)"
    grep -q 'runtimes\.secure\]' "$containerd_conf" \
        && die "$containerd_conf already defines runtimes.secure; not touching it"
    cp -p "$containerd_conf" "$containerd_conf.before-secure-container"
    [ -z "$(tail -c 1 "$containerd_conf")" ] || echo >>"$containerd_conf"
    {
        echo "$begin_marker"
        v2_tables_for_append
        echo "$end_marker"
    } >>"$containerd_conf"
    say "appended the runtime to $containerd_conf (backup: $containerd_conf.before-secure-container)"
}

# containerd 1.6/1.7 (config version 2) replace a whole plugin section on import, so the drop-in
# is only imported where that loses nothing: a config.toml this script writes itself.
register_containerd_v1() {
    install -D -m 0644 "$src/packaging/containerd/secure-runtime-v2.toml" "$dropin"
    if [ ! -e "$containerd_conf" ]; then
        printf '# Written by secure-container packaging/install.sh.\nversion = 2\nimports = ["%s"]\n' \
            "$dropin" >"$containerd_conf"
        sha256sum "$containerd_conf" >"$record/containerd-config.sha256"
        say "wrote $containerd_conf importing $dropin"
    elif grep -qF "$dropin" "$containerd_conf" || grep -qF "$begin_marker" "$containerd_conf"; then
        say "$containerd_conf already registers the runtime"
    elif [ "$edit_containerd_config" = 1 ]; then
        append_to_containerd_conf
    else
        say "NOT changing the existing $containerd_conf. containerd $1 replaces a whole plugin"
        say "section on import, so importing $dropin would drop your CRI settings."
        say "To register the CRI runtime 'secure', append its tables to config.toml:"
        say "    sudo $0 --edit-containerd-config"
        return 1
    fi
}

# containerd 2.x (config version 3) merges imported sections key by key; 2.2+ imports conf.d/ by
# default.
register_containerd_v2() {
    install -D -m 0644 "$src/packaging/containerd/secure-runtime-v3.toml" "$dropin"
    if [ -e "$containerd_conf" ]; then
        if grep -Eq '^ *imports *=.*(conf\.d/\*\.toml|conf\.d/secure-container\.toml)' "$containerd_conf"; then
            return 0
        fi
        say "NOT changing the existing $containerd_conf; to load $dropin add to its top:"
        say "    imports = [\"/etc/containerd/conf.d/*.toml\"]"
        return 1
    fi
    containerd config default 2>/dev/null | grep -q '/etc/containerd/conf.d' && return 0
    printf '# Written by secure-container packaging/install.sh.\nversion = 3\nimports = ["%s"]\n' \
        "$dropin" >"$containerd_conf"
    sha256sum "$containerd_conf" >"$record/containerd-config.sha256"
    say "wrote $containerd_conf importing $dropin"
}

# Registers the CRI runtime "secure" (runtime_type io.containerd.secure.v2, ConfigPath $conf).
# `ctr run --runtime io.containerd.secure.v2` needs none of this: containerd finds the shim on
# its PATH. Never restarts containerd.
register_containerd() {
    local version registered=0
    command -v containerd >/dev/null || die "containerd is not installed"
    version=$(containerd --version | awk '{ print $3 }')
    if [ "${version%%.*}" -ge 2 ]; then
        register_containerd_v2 && registered=1
    else
        register_containerd_v1 "$version" && registered=1
    fi
    if [ "$registered" = 1 ]; then
        say "CRI runtime 'secure' registered in containerd $version's config; it takes effect"
        say "when containerd restarts (systemctl restart containerd)"
    fi
}

# With [template] enable = true the first pod resumes from a VM template instead of booting:
# built now rather than in the background of the first pod (it says so when templates are off).
# The config may name another directory; $templates is the default.
build_template() {
    # Templates of the files just replaced could not be resumed any more: they go first.
    rm -rf "$templates"
    "$prefix/bin/secure-container-template" --config "$conf" --wait 2>&1 \
        | sed 's/^/install: /' || die "the VM template did not build (see its message above)"
}

# KSM on through systemd-tmpfiles at boot, and now; the value it had before is kept for
# uninstall.sh.
enable_ksm() {
    local run=/sys/kernel/mm/ksm/run
    [ -w "$run" ] || die "--enable-ksm: this kernel has no KSM ($run)"
    [ -e "$record/ksm-run-before" ] || cat "$run" >"$record/ksm-run-before"
    install -D -m 0644 /dev/stdin "$ksm_tmpfiles" <<<"w $run - - - - 1"
    echo 1 >"$run"
    say "KSM on (now, and at boot through $ksm_tmpfiles)"
}

mkdir -p "$record"
say "dependencies (apt)"
"$src/packaging/install-deps.sh" "${deps_args[@]}"
build_and_install
ensure_libvirt_user
install_config
register_containerd
build_template
[ "$enable_ksm" = 0 ] || enable_ksm
say "done; what this host offers pods (secure-container check):"
"$prefix/bin/secure-container" check | sed 's/^/install:   /' || true
