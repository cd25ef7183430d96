#!/bin/bash
# A private containerd for tests: its own config, root, state, opt dir and gRPC + ttrpc sockets,
# all inside one directory, so tests never touch (or depend on) the system containerd.
#
# Source it:
#   . tests/lib/private-containerd.sh
#   dir=$(mktemp -d /tmp/sc-ctrd.XXXXXX)
#   trap 'private_containerd_stop "$dir"' EXIT
#   private_containerd_start "$dir" || exit 1
#   ctr version          # CONTAINERD_ADDRESS is exported, so plain `ctr` talks to it
#
# Or run it (for tests written in other languages):
#   tests/lib/private-containerd.sh start DIR   -> prints shell-style KEY=VALUE lines:
#       CONTAINERD_ADDRESS=DIR/containerd.sock
#       CONTAINERD_TTRPC_ADDRESS=DIR/containerd.sock.ttrpc
#       CONTAINERD_PID=1234
#   tests/lib/private-containerd.sh stop DIR    -> stops it and removes DIR (also safe if it
#                                                  never started or was already stopped)
#
# Variables read by start:
#   PATH                      containerd looks up shims (containerd-shim-<name>-v2) on it
#   PRIVATE_CONTAINERD_CRI=1  keep the CRI plugin (off by default: it needs CNI and is slow),
#                             configured with the runtimes "runc" (default) and "secure" and a
#                             CNI bridge network of its own (see private_containerd_write_cri);
#                             these tune it:
#     PRIVATE_CONTAINERD_SANDBOX_IMAGE  the pause image (default localhost/sc-test/pause:1; it
#                                       must be imported into namespace k8s.io before a pod runs)
#     PRIVATE_CONTAINERD_CNI_BRIDGE     bridge name, at most 15 chars (default: sc + random hex)
#     PRIVATE_CONTAINERD_CNI_SUBNET     the pods' /24 (default: 10.213.<random>.0/24)
#     PRIVATE_CONTAINERD_SECURE_CONFIG  the secure runtime's ConfigPath option (default: none)
#   start sets the first three to what it used. Nobody removes the bridge when the last pod
#   goes (CNI's bridge plugin never does): the caller does.
#   PRIVATE_CONTAINERD_LOG    log level (default "info"); the log is DIR/containerd.log
#
# containerd's shims put their sockets under /run/containerd/s whatever the state dir is (a
# containerd 1.6 constant); they are removed when the tasks are deleted, which stop does first.

PRIVATE_CONTAINERD_TIMEOUT=${PRIVATE_CONTAINERD_TIMEOUT:-30}

# Writes the config for a containerd living in directory $1.
private_containerd_write_config() {
    local dir=$1 disabled='"io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"'
    [ "${PRIVATE_CONTAINERD_CRI:-0}" = 1 ] || disabled="$disabled, \"io.containerd.grpc.v1.cri\""
    cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = [$disabled]

[grpc]
  address = "$dir/containerd.sock"

[ttrpc]
  address = "$dir/containerd.sock.ttrpc"

[debug]
  level = "${PRIVATE_CONTAINERD_LOG:-info}"

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
EOF
    [ "${PRIVATE_CONTAINERD_CRI:-0}" != 1 ] || private_containerd_write_cri "$dir"
}

# Appends the CRI plugin's settings to DIR/config.toml and writes its CNI network to DIR/cni.
private_containerd_write_cri() {
    local dir=$1 cri='plugins."io.containerd.grpc.v1.cri"'
    : "${PRIVATE_CONTAINERD_SANDBOX_IMAGE:=localhost/sc-test/pause:1}"
    : "${PRIVATE_CONTAINERD_CNI_BRIDGE:=sc$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')}"
    : "${PRIVATE_CONTAINERD_CNI_SUBNET:=10.213.$((RANDOM % 256)).0/24}"
    # restrict_oom_score_adj: without it the pause container's oom_score_adj of -998 fails where
    # root lacks CAP_SYS_RESOURCE. Port 0: the streaming server (exec, attach, port-forward)
    # takes any free port on loopback, so parallel containerds never collide.
    cat >>"$dir/config.toml" <<EOF || return 1

[$cri]
  sandbox_image = "$PRIVATE_CONTAINERD_SANDBOX_IMAGE"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[$cri.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "$dir/cni"
  max_conf_num = 1

[$cri.containerd]
  default_runtime_name = "runc"

[$cri.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[$cri.containerd.runtimes.secure]
  runtime_type = "io.containerd.secure.v2"
  privileged_without_host_devices = true
  # Stands in for containerd 1.7+, which puts the pod's size in these annotations itself: 1.6
  # passes them from the pod's own annotations, so that the tests can size a pod.
  pod_annotations = ["io.kubernetes.cri.sandbox-*"]
EOF
    if [ -n "${PRIVATE_CONTAINERD_SECURE_CONFIG:-}" ]; then
        printf '\n[%s.containerd.runtimes.secure.options]\n  ConfigPath = "%s"\n' \
            "$cri" "$PRIVATE_CONTAINERD_SECURE_CONFIG" >>"$dir/config.toml" || return 1
    fi
    private_containerd_write_cni "$dir"
}

# The pods' network: a bridge made for this containerd, with the host as gateway and no NAT
# (nothing leaves the machine), host-local addresses kept under DIR, and portmap for hostPorts.
private_containerd_write_cni() {
    local dir=$1
    mkdir -p "$dir/cni" "$dir/cni-ipam" || return 1
    cat >"$dir/cni/10-sc-test.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "sc-test-$PRIVATE_CONTAINERD_CNI_BRIDGE",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$PRIVATE_CONTAINERD_CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$PRIVATE_CONTAINERD_CNI_SUBNET"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$dir/cni-ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# private_containerd_start DIR: starts containerd in DIR (which must exist), waits until it
# answers, and exports CONTAINERD_ADDRESS, CONTAINERD_TTRPC_ADDRESS, CONTAINERD_PID.
private_containerd_start() {
    local dir=$1 deadline pid
    dir=$(cd "$dir" && pwd) || return 1
    if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
        echo "private-containerd: containerd or ctr not found (apt-get install containerd)" >&2
        return 1
    fi
    mkdir -p "$dir/root" "$dir/state" "$dir/opt" || return 1
    private_containerd_write_config "$dir" || return 1
    # setsid: its own session, so the test's job control and terminal signals never reach it.
    setsid containerd --config "$dir/config.toml" </dev/null >>"$dir/containerd.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/containerd.pid"
    export CONTAINERD_ADDRESS="$dir/containerd.sock"
    export CONTAINERD_TTRPC_ADDRESS="$dir/containerd.sock.ttrpc"
    export CONTAINERD_PID=$pid
    deadline=$((SECONDS + PRIVATE_CONTAINERD_TIMEOUT))
    until ctr --address "$CONTAINERD_ADDRESS" version >/dev/null 2>&1 \
        && [ -S "$CONTAINERD_TTRPC_ADDRESS" ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "private-containerd: containerd exited at start; its log:" >&2
            tail -n 20 "$dir/containerd.log" >&2
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "private-containerd: no answer within ${PRIVATE_CONTAINERD_TIMEOUT}s; its log:" >&2
            tail -n 20 "$dir/containerd.log" >&2
            return 1
        fi
        sleep 0.1
    done
}

# Deletes every task and container in every namespace, so that each shim cleans up after
# itself (its VM, mounts, sockets) the normal way before containerd goes.
private_containerd_delete_all() {
    local address=$1 ns id
    for ns in $(timeout 10 ctr --address "$address" namespaces list -q 2>/dev/null); do
        for id in $(timeout 10 ctr --address "$address" -n "$ns" task list -q 2>/dev/null); do
            timeout 10 ctr --address "$address" -n "$ns" task kill -s SIGKILL "$id" >/dev/null 2>&1
            timeout 20 ctr --address "$address" -n "$ns" task delete -f "$id" >/dev/null 2>&1
        done
        for id in $(timeout 10 ctr --address "$address" -n "$ns" container list -q 2>/dev/null); do
            timeout 20 ctr --address "$address" -n "$ns" container delete "$id" >/dev/null 2>&1
        done
    done
}

# Prints the pids of processes whose command line names $1 (the shims of this containerd are
# started with "-address $1").
private_containerd_shim_pids() {
    local file pid
    # One grep picks the few command lines that name the address at all (a pipeline per
    # process costs seconds on a busy machine); only those are checked word by word.
    for file in $(grep -laF -- "$1" /proc/[0-9]*/cmdline 2>/dev/null); do
        pid=${file#/proc/}
        tr '\0' ' ' 2>/dev/null <"$file" | grep -qF -- "-address $1" && echo "${pid%/cmdline}"
    done
    return 0
}

# Waits up to $2 seconds for the shims of the containerd at address $1 to exit by themselves.
private_containerd_wait_shims() {
    local deadline=$((SECONDS + $2))
    while [ -n "$(private_containerd_shim_pids "$1")" ] && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.2
    done
}

# Sends signal $2 to pid $1 and waits up to $3 seconds for it to go.
private_containerd_kill_wait() {
    local pid=$1 signal=$2 wait_s=$3 deadline
    kill "-$signal" "$pid" 2>/dev/null || return 0
    deadline=$((SECONDS + wait_s))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.1
    done
    ! kill -0 "$pid" 2>/dev/null
}

# Unmounts everything mounted at or below $1, deepest first.
private_containerd_unmount_below() {
    local dir=$1 mnt
    awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo \
        | sort -r | while read -r mnt; do
        # mountinfo escapes blanks as octal (\040); printf %b turns them back.
        mnt=$(printf '%b' "$mnt")
        umount "$mnt" 2>/dev/null || umount -l "$mnt"
    done
}

# private_containerd_stop DIR [LOG-COPY]: removes tasks and containers, stops containerd and any
# shim it left, unmounts everything under DIR and removes DIR; containerd's log (which also holds
# the shims' logs) is first copied to LOG-COPY if given. Safe to call more than once, from a trap,
# and for a containerd that never started.
private_containerd_stop() {
    local dir=$1 log_copy=${2:-} address pid
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd) || return 1
    address="$dir/containerd.sock"
    pid=$(cat "$dir/containerd.pid" 2>/dev/null)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        private_containerd_delete_all "$address"
        # A shim finishes its own teardown (a VM to destroy, mounts, its socket) after the last
        # delete; containerd must still be there while it does.
        private_containerd_wait_shims "$address" "${PRIVATE_CONTAINERD_SHIM_GRACE:-30}"
        private_containerd_kill_wait "$pid" TERM 10 || private_containerd_kill_wait "$pid" KILL 5
    fi
    for pid in $(private_containerd_shim_pids "$address"); do
        echo "private-containerd: killing shim $pid left by containerd in '$dir'" >&2
        private_containerd_kill_wait "$pid" KILL 5
    done
    private_containerd_unmount_below "$dir"
    [ -z "$log_copy" ] || cp "$dir/containerd.log" "$log_copy" 2>/dev/null
    rm -rf "$dir"
    if [ "${CONTAINERD_ADDRESS:-}" = "$address" ]; then
        unset CONTAINERD_ADDRESS CONTAINERD_TTRPC_ADDRESS CONTAINERD_PID
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    case "${1:-}:$#" in
    start:2)
        private_containerd_start "$2" || { private_containerd_stop "$2"; exit 1; }
        echo "CONTAINERD_ADDRESS=$CONTAINERD_ADDRESS"
        echo "CONTAINERD_TTRPC_ADDRESS=$CONTAINERD_TTRPC_ADDRESS"
        echo "CONTAINERD_PID=$CONTAINERD_PID"
        ;;
    stop:2)
        private_containerd_stop "$2"
        ;;
    *)
        echo "usage: $0 start DIR | stop DIR" >&2
        exit 2
        ;;
    esac
fi
