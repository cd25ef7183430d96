#!/bin/bash
# Removes what packaging/install.sh installed, as recorded under /var/lib/secure-container/install:
# the installed files, the containerd drop-in and registration, and the default config and the
# libvirt-qemu user if install.sh created them. A config file you changed is kept unless --purge.
# Never restarts containerd and never touches running pods.
#
#   sudo packaging/uninstall.sh [--purge]
set -euo pipefail

# shellcheck source=packaging/install-paths.sh
. "$(dirname "$0")/install-paths.sh"
purge=0

say() { echo "uninstall: $*"; }

for arg in "$@"; do
    case "$arg" in
    --purge) purge=1 ;;
    *)
        echo "uninstall: unknown argument '$arg' (allowed: --purge)" >&2
        exit 1
        ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "uninstall: run as root (sudo $0)" >&2
    exit 1
fi

# True when file $1 still has the checksum recorded in $2 (it is as install.sh wrote it).
unchanged() {
    [ -f "$2" ] && sha256sum --status -c "$2" 2>/dev/null
}

# meson's install log lists the files it installed and the directories it created.
remove_installed_files() {
    local path
    [ -f "$record/files" ] || return 0
    while read -r path; do
        if [ -n "$path" ] && [ ! -d "$path" ]; then
            rm -f "$path"
        fi
    done <"$record/files"
    sort -r "$record/files" | while read -r path; do
        if [ -d "$path" ]; then
            rmdir --ignore-fail-on-non-empty "$path"
        fi
    done
    say "removed what meson installed ($(wc -l <"$record/files") files and directories)"
}

remove_config() {
    [ -e "$conf" ] || return 0
    if [ "$purge" = 1 ] || unchanged "$conf" "$record/config.sha256"; then
        rm -f "$conf"
        rmdir --ignore-fail-on-non-empty "$(dirname "$conf")"
        say "removed $conf"
    else
        say "kept $conf (not written by install.sh, or changed since; --purge removes it)"
    fi
}

remove_containerd_registration() {
    if [ -e "$containerd_conf" ] && unchanged "$containerd_conf" "$record/containerd-config.sha256"; then
        rm -f "$containerd_conf"
        say "removed $containerd_conf (written by install.sh)"
    elif [ -e "$containerd_conf" ] && grep -qF "$begin_marker" "$containerd_conf"; then
        awk -v b="$begin_marker" -v e="$end_marker" '
            $0 == b { skip = 1; next }
            $0 == e { skip = 0; next }
            !skip' "$containerd_conf" >"$containerd_conf.tmp"
        chmod --reference="$containerd_conf" "$containerd_conf.tmp"
        mv "$containerd_conf.tmp" "$containerd_conf"
        say "removed the runtime's tables from $containerd_conf"
        # install.sh's backup goes too once the file is back to what it was.
        if cmp -s "$containerd_conf" "$containerd_conf.before-secure-container"; then
            rm -f "$containerd_conf.before-secure-container"
        fi
    fi
    if [ -e "$dropin" ]; then
        rm -f "$dropin"
        rmdir --ignore-fail-on-non-empty "$(dirname "$dropin")"
        say "removed $dropin"
    fi
}

remove_libvirt_user() {
    [ -e "$record/created-libvirt-qemu-user" ] || return 0
    userdel libvirt-qemu && say "removed the system user libvirt-qemu (install.sh created it)"
}

# Templates are a cache the shim rebuilds: they go whatever their state.
remove_templates() {
    [ -e "$templates" ] || return 0
    rm -rf "$templates"
    say "removed the VM templates in $templates"
}

# install.sh --enable-ksm: its boot setting goes, and KSM is set back to what it was.
remove_ksm() {
    [ -e "$ksm_tmpfiles" ] || [ -e "$record/ksm-run-before" ] || return 0
    rm -f "$ksm_tmpfiles"
    if [ -e "$record/ksm-run-before" ]; then
        cat "$record/ksm-run-before" >/sys/kernel/mm/ksm/run
    fi
    say "removed $ksm_tmpfiles; KSM is as before install.sh --enable-ksm"
}

remove_installed_files
remove_templates
remove_ksm
remove_config
remove_containerd_registration
remove_libvirt_user
rm -rf "$record"
rmdir --ignore-fail-on-non-empty /var/lib/secure-container 2>/dev/null || true
say "done (containerd keeps the runtime until it restarts: systemctl restart containerd)"
