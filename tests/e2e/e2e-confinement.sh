#!/bin/bash
# Confinement, read from the live processes of two pods (README.md, "Confinement"): each pod's
# QEMU runs as a uid of its own with no capability, no_new_privs and its seccomp sandbox;
# virtiofsd serves the files from its own namespaces under its seccomp filter; the shim keeps
# only what a running pod needs; one pod's QEMU uid can open none of the other pod's files.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup
testenv_runtime_is_vm || testenv_skip "confinement is the VM runtime's (QEMU, virtiofsd)"
command -v setpriv >/dev/null || testenv_skip "'setpriv' (util-linux) missing"

# What the shim keeps once its pod is up: DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, KILL,
# NET_ADMIN, SYS_ADMIN.
SHIM_CAPS=000000000020102e
NO_CAPS=0000000000000000
# The shipped [hypervisor] pod_uid_base and pod_uid_count.
UID_BASE=1879048192
UID_COUNT=65536

status() { awk -v k="$2:" '$1 == k { sub(/^[^\t]*\t/, ""); print; exit }' "/proc/$1/status"; }
expect() { # expect PID FIELD VALUE WHO
    local got
    got=$(status "$1" "$2")
    [ "$got" = "$3" ] || testenv_fail "$4 (pid $1): $2 is '$got', expected '$3'"
}
children() { pgrep -P "$1" -x "$2"; }

kernel=$(sed -n 's/^kernel = //p' "$SC_CONFIG")
initrd=$(sed -n 's/^initrd = //p' "$SC_CONFIG")
image_owners() { stat -c '%u:%g %a' "$kernel" "$initrd"; }
owners_before=$(image_owners)

sc_run_detached pod-a sleep 1001 || testenv_fail "pod-a did not start"
sc_run_detached pod-b sleep 1002 || testenv_fail "pod-b did not start"

declare -A qemu_uid pod_dir
for pod in pod-a pod-b; do
    shim=$(testenv_our_processes '^containerd-shim-secure-v2$' | while read -r pid _; do
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-id $pod " && echo "$pid"; done)
    [ -n "$shim" ] || testenv_fail "no shim for $pod"
    qemu=$(children "$shim" qemu-system-x86)
    [ "$(echo "$qemu" | wc -w)" = 1 ] || testenv_fail "$pod: expected one QEMU under shim $shim: '$qemu'"

    # QEMU: its own uid and gid, nothing to gain.
    read -r uid _ < <(status "$qemu" Uid)
    [ "$uid" -ge "$UID_BASE" ] && [ "$uid" -lt $((UID_BASE + UID_COUNT)) ] \
        || testenv_fail "$pod: QEMU runs as uid $uid, not one of the pods' range"
    expect "$qemu" Uid "$uid	$uid	$uid	$uid" "$pod's QEMU"
    expect "$qemu" Gid "$uid	$uid	$uid	$uid" "$pod's QEMU"
    for caps in CapInh CapPrm CapEff CapAmb; do
        expect "$qemu" "$caps" "$NO_CAPS" "$pod's QEMU"
    done
    expect "$qemu" NoNewPrivs 1 "$pod's QEMU"
    expect "$qemu" Seccomp 2 "$pod's QEMU"
    qemu_uid[$pod]=$uid
    # The domain is named after the pod's directory: guest=sc-<name>.
    name=$(tr '\0' '\n' <"/proc/$qemu/cmdline" | sed -n 's/^guest=sc-\([0-9a-f]*\),.*/\1/p')
    pod_dir[$pod]=/run/secure-container/$name
    [ -d "${pod_dir[$pod]}" ] || testenv_fail "$pod: no pod directory in QEMU's command line"

    # virtiofsd: the process that serves files (in a pid namespace of its own) is confined.
    parent=$(children "$shim" virtiofsd)
    worker=$(children "$parent" virtiofsd)
    [ -n "$worker" ] || testenv_fail "$pod: no virtiofsd worker under '$parent'"
    expect "$worker" Seccomp 2 "$pod's virtiofsd"
    expect "$worker" NoNewPrivs 1 "$pod's virtiofsd"
    expect "$worker" CapBnd "$NO_CAPS" "$pod's virtiofsd"
    for ns in mnt net pid; do
        [ "$(readlink "/proc/$worker/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] \
            || testenv_fail "$pod's virtiofsd shares the host's $ns namespace"
    done

    # The shim: its main thread, the orphan reaper's and libvirt's keep what a running pod needs,
    # the GLib threads started without privileges (shim_privileges_start_workers()) nothing;
    # none can gain more.
    for task in /proc/"$shim"/task/*; do
        tid=${task##*/}
        comm=$(cat "$task/comm")
        want=$SHIM_CAPS
        case $comm in gmain | pool-spawner) want=$NO_CAPS ;; esac
        for field in CapInh:$NO_CAPS CapPrm:$want CapEff:$want CapBnd:$want CapAmb:$NO_CAPS NoNewPrivs:1; do
            got=$(awk -v k="${field%%:*}:" '$1 == k { print $2 }' "$task/status")
            [ "$got" = "${field#*:}" ] \
                || testenv_fail "$pod's shim thread $tid ($comm): ${field%%:*} $got, expected ${field#*:}"
        done
    done
done
[ "${qemu_uid[pod-a]}" != "${qemu_uid[pod-b]}" ] || testenv_fail "both QEMUs run as uid ${qemu_uid[pod-a]}"

# As pod-b's QEMU uid: nothing of pod-a's opens. As pod-a's, its own private directory does
# (so a refusal above is the permission's, not the tool's).
as_uid() { setpriv --reuid="$1" --regid="$1" --clear-groups -- "${@:2}"; }
connect() { python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$1"; }
a=${pod_dir[pod-a]}
private=$(find "$a/libvirt/lib/qemu" -maxdepth 1 -name 'domain-*')
[ -n "$private" ] || testenv_fail "no libvirt domain directory in $a"
as_uid "${qemu_uid[pod-a]}" cat "$private/master-key.aes" >/dev/null \
    || testenv_fail "pod-a's QEMU uid cannot read its own libvirt files"
b_uid=${qemu_uid[pod-b]}
as_uid "$b_uid" cat "$private/master-key.aes" >/dev/null 2>&1 \
    && testenv_fail "pod-b's QEMU uid reads pod-a's libvirt master key"
as_uid "$b_uid" ls "$private" >/dev/null 2>&1 && testenv_fail "pod-b's QEMU uid lists pod-a's libvirt directory"
as_uid "$b_uid" cat "$a/console.log" >/dev/null 2>&1 && testenv_fail "pod-b's QEMU uid reads pod-a's console"
as_uid "$b_uid" ls "$a/shared" >/dev/null 2>&1 && testenv_fail "pod-b's QEMU uid lists pod-a's shared directory"
as_uid "$b_uid" ls "$a" >/dev/null 2>&1 && testenv_fail "pod-b's QEMU uid lists pod-a's directory"
for sock in "$a/agent.sock" "$private"/*.sock; do
    as_uid "$b_uid" bash -c "$(declare -f connect); connect '$sock'" 2>/dev/null \
        && testenv_fail "pod-b's QEMU uid connects to pod-a's $sock"
done

sc_remove pod-a
sc_remove pod-b
assert_eq "the kernel's and initrd's owners and modes" "$owners_before" "$(image_owners)"
