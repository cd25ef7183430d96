#!/bin/bash
# Interop with the real containerd: our ttrpc client calls Events/Forward on a private
# containerd's ttrpc socket with a TaskExit envelope; `ctr events` must show that event.
# Usage: interop-containerd.sh INTEROP_FORWARD_BINARY PRIVATE_CONTAINERD_SH
# Needs root and containerd; skips (77) without them, fails instead when CI=true.
set -u
forward=$1
lib=$2

skip() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL: CI=true, so not skipping: $*" >&2
        exit 1
    fi
    echo "SKIP: $*" >&2
    exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root (containerd)"
command -v containerd >/dev/null && command -v ctr >/dev/null || skip "containerd and ctr not installed"

# shellcheck source=tests/lib/private-containerd.sh
. "$lib"
dir=$(mktemp -d /tmp/sc-ttrpc-interop.XXXXXX)
events_pid=
cleanup() {
    [ -n "$events_pid" ] && kill "$events_pid" 2>/dev/null && wait "$events_pid" 2>/dev/null
    private_containerd_stop "$dir"
    if [ -e "$dir" ]; then
        echo "FAIL: '$dir' is still there after the teardown" >&2
        exit 1
    fi
}
trap cleanup EXIT

private_containerd_start "$dir" || { echo "FAIL: private containerd did not start" >&2; exit 1; }

ctr --address "$CONTAINERD_ADDRESS" events >"$dir/events.log" 2>&1 &
events_pid=$!
# The subscription is live once ctr has connected; a probe event shows it (ctr prints nothing
# before the first event, so retry the probe until it appears).
id="interop-$$-$RANDOM"
seen=
for _ in $(seq 1 50); do
    "$forward" "$CONTAINERD_TTRPC_ADDRESS" sc-interop "$id" 37 || exit 1
    if grep -q "$id" "$dir/events.log"; then
        seen=1
        break
    fi
    sleep 0.2
done
cat "$dir/events.log"
[ -n "$seen" ] || { echo "FAIL: ctr events never showed the forwarded event" >&2; exit 1; }
line=$(grep -m1 "$id" "$dir/events.log")
for want in sc-interop /tasks/exit '"exit_status":37' '"pid":4242'; do
    case "$line" in
    *"$want"*) ;;
    *) echo "FAIL: the event line lacks '$want': $line" >&2; exit 1 ;;
    esac
done
echo "ok: containerd published the TaskExit we forwarded"
