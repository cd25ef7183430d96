#!/bin/bash
# Pod networking through a network namespace made the way CNI makes one (a veth named eth0 with an
# address and a default route, its peer on the host side as the gateway). The container joins it
# as the CRI plugin asks (`ctr run --with-ns network:PATH`): it has the namespace's address, the
# host pings it and talks TCP to it, it reaches the gateway, and two of its processes talk over
# 127.0.0.1, and port forwarding works as containerd does it. Afterwards the namespace holds what
# it held before: no tap, no tc qdisc, no nftables table.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

net=$((200 + $$ % 50))
gateway=10.213.$net.1
pod_ip=10.213.$net.2
host_if=scgw$$
holder=

net_cleanup() {
    ip link del "$host_if" 2>/dev/null
    [ -z "$holder" ] || kill "$holder" 2>/dev/null
}
trap 'rc=$?; net_cleanup; (exit $rc); testenv_teardown' EXIT

# The namespace lives as long as this process (no file under /run/netns to leave behind).
unshare --net sleep 1000 &
holder=$!
netns=/proc/$holder/ns/net
own_netns() { [ "$(readlink "$netns")" != "$(readlink /proc/self/ns/net)" ]; }
testenv_wait_until 10 own_netns || testenv_fail "no network namespace for the pod"
in_pod() { nsenter --net="$netns" "$@"; }
ip link add "$host_if" type veth peer name eth0 netns "$holder" || testenv_fail "veth"
ip addr add "$gateway/24" dev "$host_if" && ip link set "$host_if" up || testenv_fail "gateway"
in_pod ip addr add "$pod_ip/24" dev eth0 && in_pod ip link set eth0 up && in_pod ip link set lo up \
    && in_pod ip route add default via "$gateway" || testenv_fail "pod side of the veth"

sc_ctr run --runtime "$SC_RUNTIME" --with-ns "network:$netns" -d "$IMAGE" net1 sleep 1000 \
    || testenv_fail "ctr run with the pod's network namespace failed"
testenv_wait_status net1 RUNNING || testenv_fail "the container did not run"

out=$(sc_ctr task exec --exec-id addr net1 ip -4 -o addr show eth0)
assert_match "the container's eth0" "inet $pod_ip/24" "$out"
out=$(sc_ctr task exec --exec-id route net1 ip route)
assert_match "the container's default route" "default via $gateway dev eth0" "$out"

# -w: the first reply ends it (a slow guest may miss the first request's ARP).
busybox ping -c 1 -w 30 "$pod_ip" >/dev/null || testenv_fail "the host cannot ping the pod ($pod_ip)"
sc_ctr task exec --exec-id gw net1 ping -c 1 -w 30 "$gateway" >/dev/null \
    || testenv_fail "the pod cannot ping its gateway ($gateway)"

# True once the container's kernel lists a TCP listener on port $1. Clients connect only then:
# `nc -l` takes one connection, and a client that gave up on a slow guest (its SYN accepted
# after its own timeout) would take it with nothing sent.
listening() {
    sc_ctr task exec --exec-id "netstat-$RANDOM$RANDOM" net1 netstat -ltn 2>/dev/null \
        | grep -q "127.0.0.1:$1 \|:::$1 \|0.0.0.0:$1 "
}

# TCP from the host to a listener in the pod.
sc_ctr task exec --exec-id listen net1 sh -c 'nc -l -p 9090 >/tmp/from-host' &
listener=$!
testenv_wait_until 60 listening 9090 || testenv_fail "the container never listened on 9090"
echo via-tcp | busybox nc -w 30 "$pod_ip" 9090 \
    || testenv_fail "no TCP connection from the host to $pod_ip:9090"
wait "$listener"
out=$(sc_ctr task exec --exec-id read net1 cat /tmp/from-host)
assert_eq "what the host sent over TCP" "via-tcp" "$out"

# Loopback inside the pod: a listener and a client in two processes.
sc_ctr task exec --exec-id lo-listen net1 sh -c 'nc -l -p 8080 >/tmp/from-lo' &
listener=$!
testenv_wait_until 60 listening 8080 || testenv_fail "the container never listened on 8080"
sc_ctr task exec --exec-id lo-send net1 sh -c 'echo via-lo | nc -w 30 127.0.0.1 8080' \
    || testenv_fail "no connection over 127.0.0.1"
wait "$listener"
out=$(sc_ctr task exec --exec-id lo-read net1 cat /tmp/from-lo)
assert_eq "what went over 127.0.0.1" "via-lo" "$out"

# Port forwarding as containerd does it: a connection to 127.0.0.1:PORT from inside the pod's
# network namespace on the host reaches the container's listener, both ways. (The host side of
# a forwarded connection always connects; the guest side is only tried then.)
sc_ctr task exec --exec-id pf-listen net1 sh -c 'nc -l -p 7070 >/tmp/from-pf' &
listener=$!
testenv_wait_until 60 listening 7070 || testenv_fail "the container never listened on 7070"
echo via-port-forward | in_pod busybox nc -w 5 127.0.0.1 7070 \
    || testenv_fail "no port-forward connection to 127.0.0.1:7070 in the pod's namespace"
wait "$listener"
out=$(sc_ctr task exec --exec-id pf-read net1 cat /tmp/from-pf)
assert_eq "what came through the port forward" "via-port-forward" "$out"
sc_ctr task exec --exec-id pf-serve net1 sh -c 'echo from-the-pod | nc -l -p 7071' >/dev/null &
server=$!
testenv_wait_until 60 listening 7071 || testenv_fail "the container never listened on 7071"
out=$(in_pod busybox nc -w 5 127.0.0.1 7071 </dev/null)
assert_eq "what the pod sent back through the port forward" "from-the-pod" "$out"
wait "$server"

sc_remove net1
# The shim tears the VM and its host side down after the Delete reply: wait for that state.
pod_links() { in_pod ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1 | sort | tr '\n' ' '; }
pod_netns_restored() {
    [ "$(pod_links)" = "eth0 lo " ] && [ -z "$(in_pod tc qdisc show dev eth0 ingress)" ] \
        && [ -z "$(in_pod nft list tables)" ]
}
testenv_wait_until 60 pod_netns_restored || true
assert_eq "links left in the pod's namespace" "eth0 lo " "$(pod_links)"
assert_eq "tc ingress qdisc left on eth0" "" "$(in_pod tc qdisc show dev eth0 ingress)"
assert_eq "nftables tables left in the pod's namespace" "" "$(in_pod nft list tables)"
