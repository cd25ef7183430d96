#!/bin/bash
# `secure-container ps` and `metrics` against live pods: what they say about each pod matches
# the pod (containerd's task pid is its VM's, the VM's size follows its limits, the guest's
# MemTotal is what a container reads), the scrape parses with Prometheus' own parser, served
# over HTTP as printed, and a pod that is gone is gone from both. `exec` runs commands in the
# guest of a pod whose config allows it, and only there. At debug level the guest console
# reaches containerd's log, line by line with the pod's id.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

tool=${SC_TOOL:?SC_TOOL: the secure-container tool to test}
py=/usr/bin/python3
$py -c 'import prometheus_client' 2>/dev/null \
    || testenv_skip "python3-prometheus-client missing (packaging/install-deps.sh)"
dir=$TESTENV_DIR/tool
mkdir -p "$dir"
mib=$((1024 * 1024))

pod_count() { "$tool" ps --json | $py -c 'import json, sys; print(len(json.load(sys.stdin)))'; }
assert_eq "pods before any" 0 "$(pod_count)"

# The sized pod may be exec'd into ([agent] debug_exec); the plain one keeps the default.
{ cat "$SC_CONFIG"; printf '[agent]\ndebug_exec = true\n'; } >"$dir/debug.conf"
sc_ctr run -d --runtime "$SC_RUNTIME" --runtime-config-path "$dir/debug.conf" \
    --memory-limit $((256 * mib)) "$IMAGE" sized sleep 600 >/dev/null \
    || testenv_fail "sized run failed"
testenv_wait_status sized RUNNING || testenv_fail "sized never ran"
sc_run_detached plain sleep 600
sc_ctr task exec --exec-id meminfo plain cat /proc/meminfo >"$dir/meminfo" \
    || testenv_fail "exec into plain failed"
sc_ctr task ls >"$dir/tasks"
initrd=$(sed -n 's/^initrd *= *//p' "$SC_CONFIG")

"$tool" ps >"$dir/ps.txt" || testenv_fail "ps failed"
testenv_log "ps:"
sed 's/^/#   /' "$dir/ps.txt" >&2
assert_match "ps lists the sized pod" '^default +sized +- +running +(kvm|tcg) +[0-9]+ MiB' \
    "$(cat "$dir/ps.txt")"
"$tool" ps --json >"$dir/ps.json" || testenv_fail "ps --json failed"
"$tool" metrics >"$dir/metrics.txt" || testenv_fail "metrics failed"

# metrics --listen serves the same families over HTTP.
port=$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$tool" metrics --listen "127.0.0.1:$port" 2>"$dir/listen.log" &
server=$!
fetch() { $py -c "import urllib.request, sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$port/metrics', timeout=60).read().decode())" >"$dir/served.txt" 2>/dev/null; }
testenv_wait_until 30 fetch || testenv_fail "metrics --listen never answered: $(cat "$dir/listen.log")"
kill -TERM "$server"
wait "$server"
assert_eq "metrics --listen's exit status after SIGTERM" 0 "$?"

$py - "$dir" "$((($(stat -c %s "$initrd") + mib - 1) / mib))" <<'PY' || testenv_fail "see above"
import json, os, sys
from prometheus_client.parser import text_string_to_metric_families

d, initrd_mib = sys.argv[1], int(sys.argv[2])
def fail(msg):
    sys.exit(f"FAIL: {msg}")
def expect(what, want, got):
    if want != got:
        fail(f"{what}: expected {want!r}, got {got!r}")

pods = {p["sandbox_id"]: p for p in json.load(open(f"{d}/ps.json"))}
expect("the pods ps --json lists", ["plain", "sized"], sorted(pods))
tasks = {l.split()[0]: int(l.split()[1]) for l in open(f"{d}/tasks").read().splitlines()[1:]}
for name, p in pods.items():
    expect(f"{name}: namespace", "default", p["namespace"])
    expect(f"{name}: phase", "running", p["phase"])
    if p["vm"] not in ("kvm", "tcg"):
        fail(f"{name}: vm {p['vm']!r}")
    expect(f"{name}: containers", 1, p["containers"])
    expect(f"{name}: vm_pid is containerd's task pid", tasks[name], p["vm_pid"])
    comm = open(f"/proc/{p['shim_pid']}/comm").read().strip()
    expect(f"{name}: shim_pid's process", "containerd-shim", comm[:15])
    if not 0 < p["uptime_seconds"] < 600:
        fail(f"{name}: uptime {p['uptime_seconds']}")
    if "cri" in p:
        fail(f"{name}: a ctr pod has CRI labels: {p['cri']}")
# The sized VM boots with its limit + memory_overhead (128) + the initrd; the plain one, 512.
expect("sized: memory_mib", 256 + 128 + initrd_mib, pods["sized"]["memory_mib"])
expect("plain: memory_mib", 512, pods["plain"]["memory_mib"])
meminfo_total = next(int(l.split()[1]) * 1024 for l in open(f"{d}/meminfo")
                     if l.startswith("MemTotal:"))

def check_scrape(path):
    families = {f.name: f for f in text_string_to_metric_families(open(path).read())}
    def pod_value(family, name):
        samples = [s for s in families[family].samples
                   if s.labels.get("sandbox_id") == name and s.name == families[family].name
                   + ("_total" if families[family].type == "counter" else "")]
        expect(f"{path}: {family} samples of {name}", 1, len(samples))
        labels = samples[0].labels
        expect(f"{family} label namespace", "default", labels["namespace"])
        expect(f"{family} label pod", pods[name]["pod"][:16], labels["pod"])
        expect(f"{family} label cri_name", "", labels["cri_name"])
        return samples[0].value
    types = {"secure_container_vm_cpu_seconds": "counter",
             "secure_container_agent_call_errors": "counter",
             "secure_container_pod_start_seconds": "histogram"}
    for family, kind in types.items():
        expect(f"{family}'s type", kind, families[family].type)
    for name, p in pods.items():
        expect(f"{name}: containers", 1, pod_value("secure_container_containers", name))
        expect(f"{name}: vm_memory_bytes", p["memory_mib"] * 1024 * 1024,
               pod_value("secure_container_vm_memory_bytes", name))
        expect(f"{name}: vm_vcpus", p["vcpus"], pod_value("secure_container_vm_vcpus", name))
        for family in ("vm_cpu_seconds", "vm_rss_bytes", "shim_rss_bytes", "agent_rss_bytes",
                       "guest_memory_total_bytes", "pod_uptime_seconds"):
            if pod_value("secure_container_" + family, name) <= 0:
                fail(f"{name}: {family} is not positive")
        total = pod_value("secure_container_guest_memory_total_bytes", name)
        if not 0 < pod_value("secure_container_guest_memory_available_bytes", name) <= total:
            fail(f"{name}: guest MemAvailable outside (0, MemTotal]")
        for w in ("1", "5", "15"):
            if pod_value("secure_container_guest_load" + w, name) < 0:
                fail(f"{name}: a negative load")
        if pod_value("secure_container_agent_call_errors", name) < 0:
            fail(f"{name}: negative errors")
    expect("plain: the guest's MemTotal is what its container reads", meminfo_total,
           pod_value("secure_container_guest_memory_total_bytes", "plain"))
    phases = {s.labels["phase"]: s.value for s in families["secure_container_pods"].samples}
    expect("pods by phase", {"empty": 0, "booting": 0, "running": 2, "ended": 0}, phases)
    start = {(s.name, s.labels.get("le")): s.value
             for s in families["secure_container_pod_start_seconds"].samples}
    expect("pod starts counted", 2, start[("secure_container_pod_start_seconds_count", None)])
    expect("+Inf bucket", 2, start[("secure_container_pod_start_seconds_bucket", "+Inf")])
    if start[("secure_container_pod_start_seconds_sum", None)] <= 0:
        fail("pod start sum is not positive")
    print(f"# {path}: {len(families)} families checked", file=sys.stderr)

check_scrape(f"{d}/metrics.txt")
check_scrape(f"{d}/served.txt")
PY

# exec: in the guest itself (its PID 1 is the agent, a container's is its own process), output,
# exit status, stdin, the line shell, the timeout; refused where debug_exec is off.
assert_eq "exec: the guest's PID 1" "/init" "$("$tool" exec sized cat /proc/1/cmdline | tr -d '\0')"
out=$("$tool" exec sized sh -c 'echo out; echo err >&2; exit 3' 2>"$dir/err")
assert_eq "exec: its exit status" 3 "$?"
assert_eq "exec: its stdout" out "$out"
assert_eq "exec: its stderr" err "$(cat "$dir/err")"
assert_eq "exec -i: stdin" hello "$(echo hello | "$tool" exec -i sized cat)"
assert_eq "exec: the line shell, up to exit" one \
    "$(printf 'echo one\nexit\necho never\n' | "$tool" exec sized)"
"$tool" exec --timeout 2 sized sleep 60 2>"$dir/err"
assert_eq "exec: killed at --timeout" 137 "$?"
assert_match "exec: says it was killed" 'killed after 2 s' "$(cat "$dir/err")"
"$tool" exec plain true 2>"$dir/err" && testenv_fail "exec into a pod without debug_exec ran"
assert_match "exec: the refusal names the key" 'set \[agent\] debug_exec = true' "$(cat "$dir/err")"
"$tool" exec nopod true 2>/dev/null && testenv_fail "exec into no pod ran"

# At debug level (the test's containerd runs shims with -debug) the guest console is in the log,
# each line with its pod.
plain_dir=$($py -c 'import json, sys; print([p["pod"][:16] for p in json.load(open(sys.argv[1]))
                                             if p["sandbox_id"] == "plain"][0])' "$dir/ps.json")
grep -Eq "msg=\"guest: secure-agent: [0-9.]+ starting as init\" runtime=secure pod=$plain_dir " \
    "$TESTENV_DIR/containerd.log" || testenv_fail "no console line of pod $plain_dir in the log"

sc_remove sized
sc_remove plain
testenv_wait_until 30 eval '[ "$(pod_count)" = 0 ]' \
    || testenv_fail "ps still lists pods after their removal: $("$tool" ps)"
"$tool" metrics >"$dir/empty.txt" || testenv_fail "metrics without pods failed"
assert_match "no pod, no running pod" '^secure_container_pods\{phase="running"\} 0$' \
    "$(cat "$dir/empty.txt")"
testenv_log "ps and metrics behaved"
