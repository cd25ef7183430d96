#!/usr/bin/python3
"""The CRI end-to-end cases. Each runs against the private containerd that cri-test.sh started
(which also checks, afterwards, that nothing was left behind):

    cri_cases.py CASE        CASE: pod-lifecycle, pod-network, namespaces, host-network,
                             cgroup, security, limits, resources

Environment (set by cri-test.sh): CRI_SOCKET, CRI_HANDLER (secure or runc), CRI_IMAGE (busybox),
CRI_WORK (a scratch dir), CRI_SUBNET (the pods' /24), CRI_CGROUP_PARENT, TESTENV_SUBREAPER;
SC_TOOL (the secure-container tool, from meson).

A failed check is reported and the case goes on where later checks still mean something, so one
run shows everything that fails; `require` stops the case. Tests wait for states (polling with
a deadline), never for fixed times.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time

import cri_client
from cri_client import CONTAINER, EXITED, NODE, POD, RUNNING, CriError, namespace_options

BUSYBOX = "/bin/busybox"
# How long a network probe is retried: a pod's network may come up a little after RunPodSandbox
# returns (a VM configures its interface when it boots).
NET_WAIT = 20


class Abort(Exception):
    """A required check failed: the rest of the case cannot run."""


class Case:
    def __init__(self):
        self.handler = os.environ.get("CRI_HANDLER", "secure")
        self.image = os.environ["CRI_IMAGE"]
        self.work = os.environ["CRI_WORK"]
        self.subnet = os.environ["CRI_SUBNET"]
        self.net_prefix = self.subnet.rsplit(".", 1)[0]      # "10.213.7"
        self.gateway = self.net_prefix + ".1"                # the bridge's address (isGateway)
        self.cri = cri_client.Cri(os.environ["CRI_SOCKET"])
        self.failures = []
        self.pods = []
        os.makedirs(self.work, exist_ok=True)

    # --- reporting

    def log(self, msg):
        print("#", msg, file=sys.stderr, flush=True)

    def check(self, ok, what, detail=""):
        if ok:
            print("ok -", what, file=sys.stderr, flush=True)
        else:
            self.failures.append(what)
            print("FAIL -", what + (": " + detail if detail else ""), file=sys.stderr, flush=True)
        return ok

    def require(self, ok, what, detail=""):
        if not self.check(ok, what, detail):
            raise Abort(what)

    def check_eq(self, what, want, got):
        return self.check(want == got, what, f"expected {want!r}, got {got!r}")

    # --- waiting

    def wait_until(self, seconds, probe, what):
        """Calls probe() until it returns something true; returns that, or None after
        `seconds` (the failure is then checked by the caller)."""
        got = cri_client.poll(seconds, probe, 0.2)
        if not got:
            self.log(f"gave up after {seconds}s waiting for: {what}")
        return got

    # --- pods and containers

    def pod(self, name, **kw):
        """Runs a pod (with a log directory in the work dir); returns (id, config)."""
        log_dir = os.path.join(self.work, "logs", name)
        os.makedirs(log_dir, exist_ok=True)
        config = self.cri.pod_config(name, log_directory=log_dir, **kw)
        start = time.monotonic()
        pod_id = self.cri.run_pod(config, self.handler)
        self.pods.append(pod_id)
        self.log(f"pod {name} = {pod_id[:12]} ran in {time.monotonic() - start:.1f}s")
        return pod_id, config

    def container(self, pod, name, command, wait_running=True, **kw):
        """Creates and starts a container of the busybox image in pod (id, config)."""
        config = self.cri.container_config(name, self.image, command, **kw)
        return self.cri.run_container(pod[0], pod[1], config, wait_running)

    def exec(self, container_id, *cmd, timeout=30):
        return self.cri.exec_sync(container_id, list(cmd), timeout)

    def exec_out(self, container_id, *cmd):
        """stdout of a command that must succeed (stripped), or None (reported) if it fails."""
        try:
            res = self.exec(container_id, *cmd)
        except CriError as err:
            self.check(False, f"exec {' '.join(cmd)}", str(err))
            return None
        if res.exit_code != 0:
            self.check(False, f"exec {' '.join(cmd)}", repr(res))
            return None
        return res.stdout.strip()

    def exec_ok(self, container_id, *cmd):
        """For wait_until: True when the command exits 0."""
        try:
            return self.exec(container_id, *cmd).exit_code == 0
        except CriError:
            return False

    def remove_pod(self, pod_id):
        self.cri.stop_pod(pod_id)
        self.cri.remove_pod(pod_id)
        self.pods.remove(pod_id)

    def log_file(self, pod, name):
        return os.path.join(pod[1].log_directory, name)

    def log_has(self, path, text):
        """True when the CRI log file has a stdout line "<time> stdout F <text>"."""
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                content = f.read()
        except FileNotFoundError:
            return False
        return re.search(r"^\S+ stdout F " + re.escape(text) + "$", content, re.M) is not None

    def finish(self):
        """Removes the pods a case left (also after a failure); the verdict as an exit code."""
        for pod_id in list(self.pods):
            try:
                self.remove_pod(pod_id)
            except CriError as err:
                self.check(False, f"removing pod {pod_id[:12]}", str(err))
        self.cri.close()
        if self.failures:
            print(f"FAIL: {len(self.failures)} check(s) failed: " + "; ".join(self.failures),
                  file=sys.stderr)
            return 1
        return 0


def free_host_port():
    """A TCP port nothing on the host listens on now (the kernel's pick for a bind to 0)."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return sock.getsockname()[1]


def host_ping(ip):
    return subprocess.run([BUSYBOX, "ping", "-c1", "-W", "2", ip], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def host_send(ip, port, text):
    """Sends one line over TCP with busybox nc; True once the connection succeeded."""
    return subprocess.run([BUSYBOX, "nc", ip, str(port)], input=text + "\n", text=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          timeout=20).returncode == 0


# --- cases


def check_tool_sees_pod(t, pod, containers):
    """`secure-container ps --json` and `metrics` know the pod by its CRI name, namespace and
    uid, in containerd's k8s.io namespace, with its pause container counted."""
    tool = os.environ.get("SC_TOOL")
    if not t.check(tool is not None, "SC_TOOL names the secure-container tool"):
        return
    pods = json.loads(subprocess.run([tool, "ps", "--json"], check=True, capture_output=True,
                                     text=True).stdout)
    ours = [p for p in pods if p.get("sandbox_id") == pod[0]]
    if not t.check(len(ours) == 1, "ps --json lists the pod once", repr(pods)):
        return
    meta = pod[1].metadata
    t.check_eq("ps: the pod's CRI identity",
               {"name": meta.name, "namespace": meta.namespace, "uid": meta.uid},
               ours[0].get("cri"))
    t.check_eq("ps: containerd's namespace", "k8s.io", ours[0]["namespace"])
    t.check_eq("ps: containers (the pause container counted)", containers, ours[0]["containers"])
    scrape = subprocess.run([tool, "metrics"], check=True, capture_output=True, text=True).stdout
    labels = (f'cri_name="{meta.name}",cri_namespace="{meta.namespace}",cri_uid="{meta.uid}"')
    t.check(f'secure_container_containers{{namespace="k8s.io",pod="{ours[0]["pod"][:16]}",'
            f'sandbox_id="{pod[0]}",{labels}}} {containers}' in scrape,
            "metrics: the pod's containers, labelled with its CRI identity", scrape[-2000:])


def case_pod_lifecycle(t):
    """A pod as the kubelet runs one: exec, exit codes, logs, stop with a grace period, a
    container created again after the first exited, and the pod's removal."""
    version = t.cri.version()
    t.check_eq("CRI runtime name", "containerd", version.runtime_name)
    t.check(t.cri.image_status(t.image).id != "", "ImageStatus finds the busybox image")

    pod = t.pod("life", ns_options=namespace_options(network=POD, pid=CONTAINER, ipc=POD))
    sleeper = t.container(pod, "sleeper", ["sleep", "3600"])
    t.check_eq("sleeper state", RUNNING, t.cri.container_status(sleeper).state)

    res = t.exec(sleeper, "echo", "hi")
    t.check(res.exit_code == 0 and res.stdout == "hi\n", "ExecSync echo hi", repr(res))
    res = t.exec(sleeper, "sh", "-c", "echo oops >&2; exit 3")
    t.check(res.exit_code == 3 and res.stderr == "oops\n", "ExecSync exit 3 with stderr",
            repr(res))

    try:
        stats = t.cri.container_stats(sleeper)
        t.check_eq("ContainerStats names the container", sleeper, stats.attributes.id)
    except CriError as err:
        t.check(False, "ContainerStats", str(err))
    try:
        t.cri.update_resources(sleeper, memory_limit_in_bytes=256 << 20)
        t.check(True, "UpdateContainerResources (memory limit)")
    except CriError as err:
        t.check(False, "UpdateContainerResources (memory limit)", str(err))

    if t.handler == "secure":
        check_tool_sees_pod(t, pod, containers=2)

    printer = t.container(pod, "printer", ["sh", "-c", "echo hi; echo err >&2"],
                          wait_running=False, log_path="printer.log")
    status = t.cri.wait_container_state(printer, EXITED, 60)
    t.check_eq("printer exit code", 0, status.exit_code)
    path = t.log_file(pod, "printer.log")
    t.check(t.wait_until(20, lambda: t.log_has(path, "hi"), "the log line") is not None,
            "container output lands in its CRI log file as '<time> stdout F hi'",
            open(path).read() if os.path.exists(path) else "no file " + path)

    # sleep as PID 1 has no TERM handler, so the kernel drops the TERM: only the KILL after
    # the 2 s grace period ends it.
    start = time.monotonic()
    t.cri.stop_container(sleeper, timeout=2)
    took = time.monotonic() - start
    status = t.cri.wait_container_state(sleeper, EXITED, 30)
    t.check_eq("exit code of a container killed after its grace period", 137, status.exit_code)
    t.check(1.5 <= took < 30, f"StopContainer(timeout=2) took {took:.1f}s (grace, then KILL)")

    again = t.container(pod, "sleeper", ["sleep", "3600"], attempt=1)
    t.check_eq("echo in the container created again after the first exited", "again",
               t.exec_out(again, "echo", "again"))
    t.cri.remove_container(sleeper)
    t.cri.remove_container(printer)
    ids = [c.id for c in t.cri.list_containers(pod[0])]
    t.check(sleeper not in ids and printer not in ids and again in ids,
            "ListContainers after RemoveContainer", repr(ids))

    t.cri.stop_pod(pod[0])
    status = t.cri.container_status(again)
    t.check_eq("a container's state after StopPodSandbox", EXITED, status.state)
    t.check_eq("pod state after StopPodSandbox", cri_client.pb.SANDBOX_NOTREADY,
               t.cri.pod_status(pod[0]).status.state)
    t.cri.remove_pod(pod[0])
    t.pods.remove(pod[0])
    t.check(pod[0] not in [p.id for p in t.cri.list_pods()], "ListPodSandbox after RemovePodSandbox")
    t.check(not t.cri.list_containers(pod[0]), "no container left of the removed pod")


def case_pod_network(t):
    """The pod's IP, the gateway, loopback between containers, pod to pod, hostname, DNS
    config and a hostPort."""
    host_port = free_host_port()
    dns = [t.net_prefix + ".53", t.net_prefix + ".54"]
    pod_a = t.pod("neta", hostname="sc-cri-host-a", dns=dns, searches=["sc-test.example"],
                  port_mappings=[(8080, host_port)])
    ip_a = t.cri.pod_ip(pod_a[0])
    t.require(ip_a.startswith(t.net_prefix + "."), f"pod IP {ip_a!r} is in {t.subnet}")
    t.check(t.wait_until(NET_WAIT, lambda: host_ping(ip_a), "host ping") is not None,
            f"the host pings the pod at {ip_a}")

    box = t.container(pod_a, "box", ["sleep", "3600"])
    t.check(t.wait_until(NET_WAIT, lambda: t.exec_ok(box, "ping", "-c1", "-W", "2", t.gateway),
                         "container ping") is not None,
            f"a container pings the gateway {t.gateway}")
    t.check_eq("hostname in a container", "sc-cri-host-a", t.exec_out(box, "hostname"))
    resolv = t.exec_out(box, "cat", "/etc/resolv.conf") or ""
    for server in dns:
        t.check(re.search(r"^nameserver " + re.escape(server) + "$", resolv, re.M) is not None,
                f"resolv.conf names {server}", resolv)
    t.check("sc-test.example" in resolv, "resolv.conf has the search domain", resolv)

    # The pod IP reaches the container itself (a ping could be answered by the pod's network
    # namespace on the host, which a VM runtime keeps too).
    direct = t.container(pod_a, "direct", ["nc", "-l", "-p", "7070"], log_path="direct.log")
    sent = t.wait_until(NET_WAIT, lambda: host_send(ip_a, 7070, "via-pod-ip"),
                        f"connect to {ip_a}:7070")
    t.check(sent is not None, f"the host reaches a container's port at the pod IP {ip_a}")
    if sent:
        t.cri.wait_container_state(direct, EXITED, 30)
        path = t.log_file(pod_a, "direct.log")
        t.check(t.wait_until(10, lambda: t.log_has(path, "via-pod-ip"), "log") is not None,
                "the container got the line sent to the pod IP")

    # Loopback inside the pod: a listener in one container, the sender in another.
    listener = t.container(pod_a, "listener", ["nc", "-l", "-p", "9090"],
                           log_path="listener.log")
    sent = t.wait_until(NET_WAIT, lambda: t.exec_ok(box, "sh", "-c",
                                              "echo via-loopback | nc 127.0.0.1 9090"),
                        "connect to 127.0.0.1:9090")
    t.check(sent is not None, "a container connects to another's port on 127.0.0.1")
    if sent:
        t.cri.wait_container_state(listener, EXITED, 30)
        path = t.log_file(pod_a, "listener.log")
        t.check(t.wait_until(10, lambda: t.log_has(path, "via-loopback"), "log") is not None,
                "the listener got the line sent over 127.0.0.1")

    # hostPort through CNI's portmap, from the host to its own address on the bridge.
    web = t.container(pod_a, "web", ["nc", "-l", "-p", "8080"], log_path="web.log")
    sent = t.wait_until(NET_WAIT, lambda: host_send(t.gateway, host_port, "via-hostport"),
                        f"connect to {t.gateway}:{host_port}")
    t.check(sent is not None, f"the host reaches hostPort {host_port} -> 8080")
    if sent:
        t.cri.wait_container_state(web, EXITED, 30)
        path = t.log_file(pod_a, "web.log")
        t.check(t.wait_until(10, lambda: t.log_has(path, "via-hostport"), "log") is not None,
                "the container got the line sent to its hostPort")

    pod_b = t.pod("netb")
    other = t.container(pod_b, "other", ["sleep", "3600"])
    t.check(t.wait_until(NET_WAIT, lambda: t.exec_ok(other, "ping", "-c1", "-W", "2", ip_a),
                         "pod to pod ping") is not None,
            "a second pod on the bridge reaches the first pod's IP")
    t.remove_pod(pod_b[0])
    t.remove_pod(pod_a[0])


def ns_link(t, container_id, kind):
    return t.exec_out(container_id, "readlink", f"/proc/self/ns/{kind}")


def case_namespaces(t):
    """PID namespace modes POD and CONTAINER; IPC, UTS and network shared by the pod."""
    pod = t.pod("nsp", hostname="sc-cri-ns",
                ns_options=namespace_options(network=POD, pid=POD, ipc=POD))
    shared = t.container(pod, "shared-pid", ["sleep", "3600"],
                         ns_options=namespace_options(pid=POD))
    own = t.container(pod, "own-pid", ["sleep", "3600"],
                      ns_options=namespace_options(pid=CONTAINER))

    ps = t.exec_out(shared, "ps") or ""
    t.check(re.search(r"^\s*1\s.*/pause\s*$", ps, re.M) is not None,
            "pid mode POD: ps lists PID 1 as the pause process", ps)
    t.check_eq("pid mode CONTAINER: PID 1 is the container's own process", "sleep 3600",
               (t.exec_out(own, "cat", "/proc/1/cmdline") or "").replace("\0", " ").strip())
    t.check("/pause" not in (t.exec_out(own, "ps") or ""),
            "pid mode CONTAINER: the pause process is not visible")
    t.check(ns_link(t, shared, "pid") != ns_link(t, own, "pid"),
            "the two PID modes give different PID namespaces")
    for kind in ("net", "ipc", "uts"):
        a, b = ns_link(t, shared, kind), ns_link(t, own, kind)
        t.check(a is not None and a == b, f"both containers share the {kind} namespace",
                f"{a} vs {b}")

    # IPC for real: the pod's /dev/shm is one for both.
    t.exec_out(shared, "sh", "-c", "echo shm-shared > /dev/shm/sc-ipc")
    t.check_eq("/dev/shm written in one container, read in the other", "shm-shared",
               t.exec_out(own, "cat", "/dev/shm/sc-ipc"))
    t.check_eq("hostname (UTS) in the first container", "sc-cri-ns", t.exec_out(shared, "hostname"))
    t.check_eq("hostname (UTS) in the second container", "sc-cri-ns", t.exec_out(own, "hostname"))
    t.remove_pod(pod[0])


def case_host_network(t):
    """network NODE: runc joins the host's network namespace; a VM runtime must refuse it."""
    ns = namespace_options(network=NODE, pid=CONTAINER, ipc=POD)
    if t.handler == "runc":
        # No hostname: with the host's UTS namespace runc refuses to set one (so the kubelet
        # sends none for a host-network pod either).
        pod = t.pod("hostnet", ns_options=ns, hostname="")
        box = t.container(pod, "box", ["sleep", "3600"])
        t.check_eq("the container is in the host's network namespace",
                   os.readlink("/proc/self/ns/net"), ns_link(t, box, "net"))
        t.remove_pod(pod[0])
    else:
        try:
            pod = t.pod("hostnet", ns_options=ns, hostname="")
            t.check(False, "RunPodSandbox with host network must fail", f"pod {pod[0][:12]} ran")
        except CriError as err:
            t.log(f"RunPodSandbox refused: {err}")
            t.check(re.search(r"host[ _-]?network", err.details, re.I) is not None,
                    "RunPodSandbox with host network fails with an error naming it",
                    err.details)
    t.check(not [p for p in t.cri.list_pods() if p.metadata.name == "hostnet"],
            "no pod is listed afterwards")


def cgroup_lines(pid):
    """{controller-list: path} from /proc/PID/cgroup ("" is the v2 hierarchy)."""
    result = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            result[controllers] = path
    return result


def cgroups_outside(pid, parent):
    """The hierarchies in which PID is not below parent, among those a pod is accounted by:
    the v1 memory, cpu and pids controllers, and the v2 hierarchy (runc places a pod in all of
    them, so a runtime must too for the kubelet's limits and accounting to hold)."""
    outside = []
    for controllers, path in cgroup_lines(pid).items():
        relevant = controllers == "" or set(controllers.split(",")) & {"memory", "cpu", "pids"}
        if relevant and not (path == parent or path.startswith(parent + "/")):
            outside.append(f"{controllers or 'v2'}:{path}")
    return outside


def our_processes(exe_prefix):
    """PIDs of processes whose executable starts with exe_prefix and that descend from this
    test (cri-test.sh is a child subreaper: everything it started stays below it)."""
    root = int(os.environ.get("TESTENV_SUBREAPER", "0"))
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.path.basename(os.readlink(f"/proc/{entry}/exe"))
        except OSError:
            continue
        if exe.startswith(exe_prefix) and descends_from(int(entry), root):
            found.append(int(entry))
    return found


def descends_from(pid, root):
    while pid > 1:
        if pid == root:
            return True
        try:
            with open(f"/proc/{pid}/status") as f:
                pid = int(next(line for line in f if line.startswith("PPid:")).split()[1])
        except (OSError, StopIteration):
            return False
    return False


def cgroup_children(parent):
    """Cgroup directories below parent in every hierarchy."""
    found = []
    base = parent.lstrip("/")
    for top in ["/sys/fs/cgroup"] + [os.path.join("/sys/fs/cgroup", d)
                                     for d in os.listdir("/sys/fs/cgroup")]:
        root = os.path.join(top, base)
        if os.path.isdir(root):
            for dirpath, dirnames, _ in os.walk(root):
                found += [os.path.join(dirpath, d) for d in dirnames]
    return found


def case_cgroup(t):
    """The pod's cgroup_parent holds the pod: runc's pause process, or the VM's QEMU."""
    parent = os.environ["CRI_CGROUP_PARENT"]
    pod = t.pod("cg", cgroup_parent=parent)
    box = t.container(pod, "box", ["sleep", "3600"])
    t.check_eq("the container runs", "up", t.exec_out(box, "echo", "up"))
    info = t.cri.pod_info(pod[0])
    spec_path = info.get("runtimeSpec", {}).get("linux", {}).get("cgroupsPath", "")
    t.check(spec_path.startswith(parent + "/"),
            f"the sandbox spec's cgroupsPath {spec_path!r} is below {parent}")
    if t.handler == "runc":
        pid = info.get("pid", 0)
        t.require(pid > 0, f"the sandbox info names the pause process (pid {pid})")
        outside = cgroups_outside(pid, parent)
        t.check(not outside, f"the pause process is below {parent}", "not in " + repr(outside))
    else:
        qemus = our_processes("qemu-system")
        t.require(len(qemus) == 1, f"one QEMU process of this test (found {qemus})")
        outside = cgroups_outside(qemus[0], parent)
        t.check(not outside, f"the VM's QEMU is below {parent}", "not in " + repr(outside))
    t.remove_pod(pod[0])
    left = t.wait_until(20, lambda: not cgroup_children(parent), "cgroups to go")
    t.check(left is not None, f"no cgroup left below {parent} after RemovePodSandbox",
            repr(cgroup_children(parent)))


def case_security(t):
    """User, groups, read-only rootfs, capabilities, no_new_privs, masked and read-only paths,
    hostPath volumes (rw, ro, a single file, one two containers share), privileged."""
    pb = cri_client.pb
    pod = t.pod("sec")

    user = t.container(pod, "user", ["sleep", "3600"], security={
        "run_as_user": pb.Int64Value(value=1000), "run_as_group": pb.Int64Value(value=1000),
        "supplemental_groups": [1234, 5678], "no_new_privs": True})
    t.check_eq("id -u", "1000", t.exec_out(user, "id", "-u"))
    t.check_eq("id -g", "1000", t.exec_out(user, "id", "-g"))
    groups = (t.exec_out(user, "id", "-G") or "").split()
    t.check("1234" in groups and "5678" in groups, "supplementalGroups in id -G", repr(groups))
    t.check_eq("NoNewPrivs", "NoNewPrivs:\t1", t.exec_out(user, "grep", "NoNewPrivs",
                                                          "/proc/self/status"))

    caps = t.container(pod, "caps", ["sleep", "3600"], security={
        "capabilities": pb.Capability(drop_capabilities=["ALL"], add_capabilities=["NET_ADMIN"]),
        "readonly_rootfs": True})
    # CAP_NET_ADMIN is capability 12.
    t.check_eq("CapEff with drop ALL, add NET_ADMIN", "CapEff:\t%016x" % (1 << 12),
               t.exec_out(caps, "grep", "CapEff", "/proc/self/status"))
    res = t.exec(caps, "sh", "-c", "echo x > /x")
    t.check(res.exit_code != 0 and "Read-only" in res.stderr,
            "readonlyRootfs: writing /x fails with a read-only error", repr(res))

    rw_dir = os.path.join(t.work, "vol-rw")
    ro_dir = os.path.join(t.work, "vol-ro")
    single = os.path.join(t.work, "single-file.txt")
    for d in (rw_dir, ro_dir):
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(rw_dir, "from-host"), "w") as f:
        f.write("host-to-container\n")
    with open(os.path.join(ro_dir, "kept"), "w") as f:
        f.write("read-only-content\n")
    with open(single, "w") as f:
        f.write("single-file-content\n")
    paths = t.container(pod, "paths", ["sleep", "3600"],
                        mounts=[(rw_dir, "/data-rw", False), (ro_dir, "/data-ro", True),
                                (single, "/single.txt", False)],
                        security={"masked_paths": ["/proc/kcore", "/proc/version", "/etc/group"],
                                  "readonly_paths": ["/etc"]})
    # Kernels built without /proc/kcore (this host's) have nothing to mask there: /proc/version
    # exists everywhere.
    t.check_eq("masked /proc/kcore reads empty (or the kernel has none)", "0",
               t.exec_out(paths, "sh", "-c", "[ -e /proc/kcore ] && wc -c < /proc/kcore || echo 0"))
    t.check_eq("masked /proc/version reads empty", "0",
               t.exec_out(paths, "sh", "-c", "wc -c < /proc/version"))
    t.check_eq("masked /etc/group reads empty", "0",
               t.exec_out(paths, "sh", "-c", "wc -c < /etc/group"))
    res = t.exec(paths, "sh", "-c", "echo x > /etc/sc-x")
    t.check(res.exit_code != 0 and "Read-only" in res.stderr,
            "a readonly path (/etc) refuses writes", repr(res))
    t.check(t.exec_ok(paths, "sh", "-c", "echo x > /root/sc-x"),
            "the rootfs outside the read-only path stays writable")

    t.check_eq("rw volume: a host file is visible", "host-to-container",
               t.exec_out(paths, "cat", "/data-rw/from-host"))
    t.exec_out(paths, "sh", "-c", "echo container-to-host > /data-rw/from-container")
    host_path = os.path.join(rw_dir, "from-container")
    got = open(host_path).read().strip() if os.path.exists(host_path) else None
    t.check_eq("rw volume: a container's write is visible on the host", "container-to-host", got)
    t.check_eq("ro volume: readable", "read-only-content", t.exec_out(paths, "cat", "/data-ro/kept"))
    res = t.exec(paths, "sh", "-c", "echo x > /data-ro/new")
    t.check(res.exit_code != 0 and "Read-only" in res.stderr, "ro volume: writes fail", repr(res))
    t.check(not os.path.exists(os.path.join(ro_dir, "new")), "ro volume: nothing reached the host")
    t.check_eq("single-file bind: readable", "single-file-content",
               t.exec_out(paths, "cat", "/single.txt"))
    t.exec_out(paths, "sh", "-c", "echo appended >> /single.txt")
    t.check_eq("single-file bind: a write reaches the host file",
               "single-file-content\nappended\n", open(single).read())

    # An emptyDir as the kubelet makes one: a host directory that two containers mount.
    peer = t.container(pod, "peer", ["sleep", "3600"], mounts=[(rw_dir, "/shared", False)])
    t.exec_out(paths, "sh", "-c", "echo from-paths > /data-rw/to-peer")
    t.check_eq("a volume two containers share: one's write, the other's read", "from-paths",
               t.exec_out(peer, "cat", "/shared/to-peer"))

    t.remove_pod(pod[0])

    # Privileged (in a privileged pod): what needs every capability (a mount, a bridge) works.
    pod = t.pod("priv", privileged=True)
    priv = t.container(pod, "priv", ["sleep", "3600"], security={"privileged": True})
    t.check_eq("privileged: a tmpfs mount", "mounted",
               t.exec_out(priv, "sh", "-c", "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted"))
    t.check_eq("privileged: a bridge", "made",
               t.exec_out(priv, "sh", "-c", "ip link add scbr0 type bridge && echo made"))
    t.remove_pod(pod[0])


def case_limits(t):
    """A container over its memory limit is OOM-killed and reported as OOMKilled while its
    sibling lives on; seccomp profiles (RuntimeDefault, Unconfined, Localhost) and the pod's
    namespaced sysctls are what the containers get."""
    pod = t.pod("limits", ns_options=namespace_options(network=POD, pid=CONTAINER, ipc=POD),
                sysctls={"net.ipv4.ip_unprivileged_port_start": "81",
                         "kernel.shm_rmid_forced": "1"})
    sibling = t.container(pod, "sibling", ["sleep", "3600"])
    # A shell variable of 200 MB in a 48 MiB container.
    hog = t.container(pod, "hog", ["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a)"],
                      wait_running=False, resources={"memory_limit_in_bytes": 48 << 20})
    status = t.cri.wait_container_state(hog, EXITED, 120)
    t.check_eq("the hog's exit code", 137, status.exit_code)
    t.check_eq("the hog's reason", "OOMKilled", status.reason)
    t.check_eq("the sibling after the OOM kill", RUNNING, t.cri.container_status(sibling).state)
    t.check_eq("echo in the sibling after the OOM kill", "alive", t.exec_out(sibling, "echo", "alive"))

    t.check_eq("pod sysctl (net namespace) seen by a container", "81",
               t.exec_out(sibling, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"))
    t.check_eq("pod sysctl (ipc namespace) seen by a container", "1",
               t.exec_out(sibling, "cat", "/proc/sys/kernel/shm_rmid_forced"))

    profile = os.path.join(t.work, "no-mkdir.json")
    with open(profile, "w") as f:
        json.dump({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}, f)
    profiles = [("RuntimeDefault", cri_client.pb.SecurityProfile(
                    profile_type=cri_client.pb.SecurityProfile.RuntimeDefault), "2"),
                ("Unconfined", cri_client.pb.SecurityProfile(
                    profile_type=cri_client.pb.SecurityProfile.Unconfined), "0"),
                ("Localhost", cri_client.pb.SecurityProfile(
                    profile_type=cri_client.pb.SecurityProfile.Localhost,
                    localhost_ref=profile), "2")]
    for name, seccomp, mode in profiles:
        c = t.container(pod, "seccomp-" + name.lower(), ["sleep", "3600"],
                        security={"seccomp": seccomp})
        got = t.exec_out(c, "sh", "-c", "grep '^Seccomp:' /proc/self/status | tr -d ' \\t'")
        t.check_eq(f"seccomp {name}: the filter mode", "Seccomp:" + mode, got)
        res = t.exec(c, "mkdir", "/tmp/made")
        t.check(res.exit_code != 0 if name == "Localhost" else res.exit_code == 0,
                f"seccomp {name}: mkdir {'refused' if name == 'Localhost' else 'allowed'}",
                repr(res))
    t.remove_pod(pod[0])


MIB = 1 << 20
SANDBOX_MEMORY = "io.kubernetes.cri.sandbox-memory"
SANDBOX_QUOTA = "io.kubernetes.cri.sandbox-cpu-quota"
SANDBOX_PERIOD = "io.kubernetes.cri.sandbox-cpu-period"
RUNTIME_CLASS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                             "packaging", "kubernetes", "runtimeclass.yaml")


def published_overhead_mib():
    """overhead.podFixed.memory of the RuntimeClass we ship, in MiB."""
    with open(RUNTIME_CLASS, encoding="utf-8") as f:
        found = re.search(r'^\s+memory:\s*"(\d+)Mi"', f.read(), re.M)
    return int(found.group(1)) if found else None


def mem_total_mib(t, container_id):
    """MemTotal of the kernel the container runs on (the guest's, in a VM), in MiB."""
    out = t.exec_out(container_id, "sh", "-c", "grep '^MemTotal:' /proc/meminfo")
    return int(out.split()[1]) // 1024 if out else 0


def cgroup_limits(t, container_id):
    """(memory limit, CPU quota/period) of the container's own cgroup, as it sees it: cgroup v2
    (memory.max, cpu.max) at the mount's root (a cgroup namespace) or at its path in
    /proc/self/cgroup (none), else v1 (runc on a v1 host)."""
    out = t.exec_out(container_id, "sh", "-c",
                     "p=$(sed -n 's/^0:://p' /proc/self/cgroup); "
                     "for d in /sys/fs/cgroup /sys/fs/cgroup$p; do if [ -f $d/memory.max ]; then "
                     "cat $d/memory.max $d/cpu.max; exit; fi; done; "
                     "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
                     "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us)")
    lines = (out or "").splitlines()
    return (lines[0], lines[1]) if len(lines) == 2 else (out, None)


def cgroup_memory_peak_mib(parent):
    """The highest memory use recorded for the cgroup parent: v1 memory.max_usage_in_bytes or
    v2 memory.peak, whichever hierarchy has the memory controller."""
    base = parent.lstrip("/")
    for path in (f"/sys/fs/cgroup/memory/{base}/memory.max_usage_in_bytes",
                 f"/sys/fs/cgroup/unified/{base}/memory.peak", f"/sys/fs/cgroup/{base}/memory.peak"):
        try:
            with open(path) as f:
                return int(f.read()) // MIB
        except (OSError, ValueError):
            continue
    return None


def fill(t, container_id, mib):
    """Exit code of dd holding a buffer of `mib` MiB in the container (137: OOM-killed)."""
    return t.exec(container_id, "dd", "if=/dev/zero", "of=/dev/null", f"bs={mib}M", "count=1",
                  timeout=120).exit_code


def case_resources(t):
    """Pod resources: a VM sized from the CRI sandbox annotations, limits enforced in the
    container's cgroup, Update raising a limit beyond the VM (hot-plug), requests above the
    maximum refused with the pod alive, memory given back when a container goes, and the pod's
    host cgroup within its limits plus the published overhead."""
    secure = t.handler == "secure"
    parent = os.environ["CRI_CGROUP_PARENT"]
    if secure:
        try:
            t.pod("huge", annotations={SANDBOX_MEMORY: str(64 << 30)})
            t.check(False, "a 64 GiB pod is refused at RunPodSandbox")
        except CriError as err:
            t.check("max_memory" in err.details, "a 64 GiB pod is refused, naming max_memory",
                    err.details)
    pod = t.pod("sized", cgroup_parent=parent,
                annotations={SANDBOX_MEMORY: str(640 * MIB), SANDBOX_QUOTA: "200000",
                             SANDBOX_PERIOD: "100000"})
    watch = t.container(pod, "watch", ["sleep", "3600"])
    box = t.container(pod, "box", ["sleep", "3600"],
                      resources={"memory_limit_in_bytes": 256 * MIB, "cpu_quota": 100000,
                                 "cpu_period": 100000})
    booted = mem_total_mib(t, watch)
    if secure:
        # 640 MiB of limits + 128 MiB for the guest + its initrd (9 to 24 MiB), less what the
        # kernel reserves (about 60 MiB).
        t.check(600 < booted <= 768, "the VM booted with the annotated size",
                f"MemTotal {booted} MiB (the default VM has 512 MiB)")
        t.check_eq("the VM has the annotated CPUs", "2", t.exec_out(watch, "nproc"))
    t.check_eq("the container's cgroup limits", (str(256 * MIB), "100000 100000"),
               cgroup_limits(t, box))
    t.check(fill(t, box, 400) != 0, "400 MiB does not fit in a 256 MiB container")
    t.check_eq("the container lives on after its process was OOM-killed", "alive",
               t.exec_out(box, "echo", "alive"))

    t.cri.update_resources(box, memory_limit_in_bytes=1 << 30, cpu_quota=50000,
                           cpu_period=100000)
    t.check_eq("the updated cgroup limits", (str(1 << 30), "50000 100000"), cgroup_limits(t, box))
    if secure:
        grown = mem_total_mib(t, watch)
        # 1 GiB + 128 MiB: 384 MiB hot-plugged, online when Update returns.
        t.check(grown - booted >= 384, "the VM grew by the hot-plugged 384 MiB at Update",
                f"MemTotal {booted} -> {grown} MiB")
    t.check_eq("700 MiB fits after the update", 0, fill(t, box, 700))

    if secure:
        for what, call in (
                ("an Update to 64 GiB", lambda: t.cri.update_resources(
                    box, memory_limit_in_bytes=64 << 30)),
                ("a 64 GiB container", lambda: t.container(
                    pod, "huge", ["sleep", "1"], resources={"memory_limit_in_bytes": 64 << 30}))):
            try:
                call()
                t.check(False, f"{what} is refused")
            except CriError as err:
                t.check("max_memory" in err.details, f"{what} is refused, naming max_memory",
                        err.details)
        t.check_eq("the pod lives on after the refusals", "alive",
                   t.exec_out(box, "echo", "alive"))
        t.check_eq("the limit is as it was", str(1 << 30), cgroup_limits(t, box)[0])
        peak = cgroup_memory_peak_mib(parent)
        overhead = published_overhead_mib()
        t.check(peak is not None and overhead is not None and peak <= 1024 + overhead,
                "the pod's host cgroup stayed within its limits plus the published overhead",
                f"peak {peak} MiB, limits 1024 MiB + overhead {overhead} MiB")
        t.log(f"pod host cgroup peak: {peak} MiB (limits 1024 MiB)")

    t.cri.stop_container(box)
    t.cri.remove_container(box)
    if secure:
        returned = t.wait_until(60, lambda: mem_total_mib(t, watch) <= booted + 64,
                                "the hot-plugged memory to go back")
        t.check(returned, "the VM gave the hot-plugged memory back after the container went",
                f"MemTotal booted {booted} MiB, now {mem_total_mib(t, watch)} MiB")
    t.remove_pod(pod[0])


CASES = {
    "pod-lifecycle": case_pod_lifecycle,
    "pod-network": case_pod_network,
    "namespaces": case_namespaces,
    "host-network": case_host_network,
    "cgroup": case_cgroup,
    "security": case_security,
    "limits": case_limits,
    "resources": case_resources,
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print(f"usage: {sys.argv[0]} {'|'.join(CASES)}", file=sys.stderr)
        return 2
    t = Case()
    start = time.monotonic()
    try:
        CASES[sys.argv[1]](t)
    except (Abort, CriError, TimeoutError) as err:
        t.check(False, "the case could not go on", str(err))
    rc = t.finish()
    t.log(f"case {sys.argv[1]} with handler {t.handler}: {time.monotonic() - start:.1f}s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
