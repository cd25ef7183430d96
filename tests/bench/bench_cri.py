#!/usr/bin/python3
"""The CRI benchmark's measurements (figures are printed, never asserted), for each runtime
handler against the private containerd that bench-cri.sh started:

  1. RunPodSandbox: the call's wall time, median and min/max of N runs (each pod removed after;
     the removal, StopPodSandbox + RemovePodSandbox, is timed too);
  2. pod ready: RunPodSandbox, then CreateContainer + StartContainer of two busybox `sleep`
     containers, until ContainerStatus reports both RUNNING; median and min/max of N;
  3. network between the host and one pod: busybox ping from the host to the pod IP (20 pings
     0.2 s apart: avg and max round trip), and TCP throughput of 64 MiB with busybox nc, host to
     pod and pod to host.

    bench_cri.py            environment: CRI_SOCKET, CRI_IMAGE (busybox), CRI_WORK (a scratch
                            dir), CRI_SUBNET (the pods' /24, whose .1 is the host on the bridge),
                            BENCH_RUNS (N, default 5), BENCH_HANDLERS ("runc secure"),
                            BENCH_NET_RUNS (throughput runs per direction, default 2)

The handlers take turns run by run (runc, secure, runc, ...) rather than one after the other, so
that a burst of load from something else on the machine falls on both. A handler whose call
fails is reported as such and the rest is still measured. Waits poll for a state.
"""

import os
import re
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cri"))
import cri_client  # noqa: E402  (found through the path above)
from cri_client import RUNNING, CriError  # noqa: E402
from cri_cases import BUSYBOX, free_host_port, host_ping  # noqa: E402

MIB = 1 << 20
PAYLOAD_MIB = 64
TCP_PORT = 5001
# A VM's network comes up a little after RunPodSandbox returns (its guest configures the
# interface when it boots): how long the first probes are retried.
NET_WAIT = 30


def log(msg):
    print("#", msg, file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


def wait_until(seconds, probe, what):
    """Calls probe() every 0.1 s until it returns something true; returns it, or raises."""
    got = cri_client.poll(seconds, probe)
    if not got:
        raise TimeoutError(f"gave up after {seconds}s waiting for: {what}")
    return got


class Bench:
    def __init__(self):
        self.cri = cri_client.Cri(os.environ["CRI_SOCKET"])
        self.image = os.environ["CRI_IMAGE"]
        self.work = os.environ["CRI_WORK"]
        self.gateway = os.environ["CRI_SUBNET"].rsplit(".", 1)[0] + ".1"
        self.serial = 0
        os.makedirs(self.work, exist_ok=True)

    def pod_config(self, what):
        """A fresh pod config (name and uid unique in the run) with a log directory."""
        self.serial += 1
        name = f"bench-{what}-{self.serial}"
        log_dir = os.path.join(self.work, "logs", name)
        os.makedirs(log_dir, exist_ok=True)
        return self.cri.pod_config(name, log_directory=log_dir)

    def container_config(self, name, command, log_path=None):
        return self.cri.container_config(name, self.image, command, log_path=log_path)

    def remove_pod(self, pod_id):
        """Stops and removes a pod; returns the milliseconds it took."""
        start = time.monotonic()
        self.cri.stop_pod(pod_id)
        self.cri.remove_pod(pod_id)
        return (time.monotonic() - start) * 1000

    # --- 1 and 2: start-up times

    def run_pod_once(self, handler):
        """(RunPodSandbox ms, removal ms)."""
        config = self.pod_config("run")
        start = time.monotonic()
        pod_id = self.cri.run_pod(config, handler)
        run_ms = (time.monotonic() - start) * 1000
        return run_ms, self.remove_pod(pod_id)

    def pod_ready_once(self, handler):
        """Milliseconds from RunPodSandbox to both containers RUNNING, as the kubelet goes:
        the containers are created and started one after the other, then their status polled."""
        config = self.pod_config("ready")
        start = time.monotonic()
        pod_id = self.cri.run_pod(config, handler)
        try:
            ids = []
            for name in ("one", "two"):
                ctr = self.cri.create_container(pod_id, config,
                                                self.container_config(name, ["sleep", "3600"]))
                self.cri.start_container(ctr)
                ids.append(ctr)
            for ctr in ids:
                self.cri.wait_container_state(ctr, RUNNING, 120)
            return (time.monotonic() - start) * 1000
        finally:
            self.remove_pod(pod_id)

    # --- 3: network

    def exec_ok(self, ctr, *cmd):
        try:
            return self.cri.exec_sync(ctr, list(cmd)).exit_code == 0
        except CriError:
            return False

    def network(self, handler, net_runs):
        """One pod with a container to exec in; returns a dict of figures."""
        config = self.pod_config("net")
        pod_id = self.cri.run_pod(config, handler)
        try:
            ip = self.cri.pod_ip(pod_id)
            box = self.cri.run_container(pod_id, config,
                                         self.container_config("box", ["sleep", "3600"]))
            # Both ways must work before anything is timed (a VM's interface comes up late).
            wait_until(NET_WAIT, lambda: host_ping(ip), f"the host pings {ip}")
            wait_until(NET_WAIT, lambda: self.exec_ok(box, "ping", "-c1", "-W", "2",
                                                      self.gateway),
                       f"the pod pings {self.gateway}")
            figures = self.ping(ip)
            figures["to_pod"] = [self.host_to_pod(pod_id, config, box, ip, i)
                                 for i in range(net_runs)]
            figures["from_pod"] = [self.pod_to_host(box) for _ in range(net_runs)]
            return figures
        finally:
            self.remove_pod(pod_id)

    @staticmethod
    def ping(ip):
        out = subprocess.run([BUSYBOX, "ping", "-c", "20", "-i", "0.2", ip],
                             capture_output=True, text=True, timeout=60, check=False).stdout
        # busybox: "round-trip min/avg/max = 0.061/0.083/0.130 ms"
        match = re.search(r"min/avg/max = ([\d.]+)/([\d.]+)/([\d.]+) ms", out)
        loss = re.search(r"(\d+)% packet loss", out)
        if not match:
            raise RuntimeError(f"ping {ip}: no round-trip line in {out!r}")
        return {"ping_avg": float(match.group(2)), "ping_max": float(match.group(3)),
                "ping_loss": int(loss.group(1)) if loss else None}

    def host_to_pod(self, pod_id, config, box, ip, run):
        """MB/s of 64 MiB from the host's busybox nc to a listener in the pod, timed on the
        host from the start of the sender to its exit (busybox nc exits when the listener,
        having read everything, closes). Returns None when the bytes did not all arrive."""
        name = f"sink{run}"
        log_path = name + ".log"
        # A CRI container's stdin is /dev/null, and busybox nc answers its stdin's EOF by
        # closing its sending half, upon which the sender's nc stops: the held-open pipe from
        # sleep keeps the listener reading. wc -c proves in the container's log that every
        # byte arrived (the timing alone would not tell a cut-short transfer).
        self.cri.run_container(pod_id, config, self.container_config(
            name, ["sh", "-c", f"sleep 1000000 | nc -l -p {TCP_PORT} | wc -c"],
            log_path=log_path))
        wait_until(NET_WAIT, lambda: self.exec_ok(
            box, "sh", "-c", f"netstat -ltn | grep -q ':{TCP_PORT} '"),
            f"the pod listens on {TCP_PORT}")
        start = time.monotonic()
        sender = subprocess.run(
            ["sh", "-c", f"dd if=/dev/zero bs=1M count={PAYLOAD_MIB} 2>/dev/null"
                         f" | {BUSYBOX} nc -w 10 {ip} {TCP_PORT}"],
            capture_output=True, text=True, timeout=300, check=False)
        seconds = time.monotonic() - start
        path = os.path.join(config.log_directory, log_path)
        want = str(PAYLOAD_MIB * MIB)
        try:
            wait_until(20, lambda: re.search(r"^\S+ stdout F " + want + "$",
                                             read_text(path), re.M),
                       f"{want} bytes in {path}")
        except TimeoutError:
            log(f"host -> pod: sender rc {sender.returncode} {sender.stderr.strip()!r}; the "
                f"listener's log: {read_text(path)!r}")
            return None
        return PAYLOAD_MIB * MIB / seconds / 1e6

    def pod_to_host(self, box):
        """MB/s of 64 MiB from busybox nc in the pod to busybox nc listening on the host,
        timed on the host from the first byte to the end of the stream (an exec's own cost,
        large for a VM, is left out)."""
        port = free_host_port()
        # stdin held open for the reason given in host_to_pod. Busybox nc listens on every
        # address: the pod connects to the host's address on the bridge, the gateway.
        listener = subprocess.Popen([BUSYBOX, "nc", "-l", "-p", str(port)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        got = {"bytes": 0, "first": None, "end": None}

        def drain():
            while True:
                chunk = listener.stdout.read1(MIB)
                if not chunk:
                    got["end"] = time.monotonic()
                    return
                if got["first"] is None:
                    got["first"] = time.monotonic()
                got["bytes"] += len(chunk)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            wait_until(10, lambda: host_listens(port), f"the host listens on {port}")
            res = self.cri.exec_sync(box, ["sh", "-c",
                                           f"dd if=/dev/zero bs=1M count={PAYLOAD_MIB} "
                                           f"2>/dev/null | nc -w 10 {self.gateway} {port}"],
                                     timeout=240)
            reader.join(30)
        finally:
            listener.stdin.close()
            listener.kill()
            listener.wait()
        if got["bytes"] != PAYLOAD_MIB * MIB or got["end"] is None:
            log(f"pod -> host: {got['bytes']} bytes arrived; exec: {res!r}")
            return None
        return got["bytes"] / (got["end"] - got["first"]) / 1e6


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def host_listens(port):
    """True when a TCP socket on the host listens on port (state 0A in /proc/net/tcp*)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in read_text(table).splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


# --- figures and the table


def ms_summary(values):
    """"median (min–max)" in ms, or the failure."""
    if isinstance(values, str):
        return values
    return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def ratio(a, b, higher_is_better=False):
    """How many times slower the second handler is (a the first handler's figure)."""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or a <= 0 or b <= 0:
        return "-"
    return f"{(a / b if higher_is_better else b / a):.1f}x"


def median_or(values):
    return statistics.median(values) if isinstance(values, list) and values else values


def main():
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    net_runs = int(os.environ.get("BENCH_NET_RUNS", "2"))
    handlers = os.environ.get("BENCH_HANDLERS", "runc secure").split()
    bench = Bench()
    load_before = loadavg()
    began = time.monotonic()
    # handler -> list of values, or a "failed: ..." string once a call failed.
    run_ms = {h: [] for h in handlers}
    remove_ms = {h: [] for h in handlers}
    ready_ms = {h: [] for h in handlers}

    def attempt(results, handler, fn, *more):
        if isinstance(results[handler], str):
            return
        try:
            values = fn(handler)
        except (CriError, TimeoutError, RuntimeError) as err:
            log(f"{handler}: {fn.__name__}: {err}")
            results[handler] = "failed"
            for other in more:
                other[handler] = "failed"
            return
        if isinstance(values, tuple):
            results[handler].append(values[0])
            for other, value in zip(more, values[1:]):
                other[handler].append(value)
        else:
            results[handler].append(values)

    for i in range(runs):
        for handler in handlers:
            attempt(run_ms, handler, bench.run_pod_once, remove_ms)
        log(f"RunPodSandbox run {i + 1}/{runs}: " + ", ".join(
            f"{h} {v[-1]:.0f} ms" if isinstance(v, list) and v else f"{h} {v}"
            for h, v in run_ms.items()))
    for i in range(runs):
        for handler in handlers:
            attempt(ready_ms, handler, bench.pod_ready_once)
        log(f"pod ready run {i + 1}/{runs}: " + ", ".join(
            f"{h} {v[-1]:.0f} ms" if isinstance(v, list) and v else f"{h} {v}"
            for h, v in ready_ms.items()))
    net = {}
    for handler in handlers:
        try:
            net[handler] = bench.network(handler, net_runs)
        except (CriError, TimeoutError, RuntimeError, subprocess.TimeoutExpired) as err:
            log(f"{handler}: network: {err}")
            net[handler] = None
        log(f"network {handler}: {net[handler]}")
    bench.cri.close()

    def net_figure(handler, key):
        if net.get(handler) is None:
            return "failed"
        return net[handler][key]

    def mbps(handler, key):
        values = net_figure(handler, key)
        if isinstance(values, str):
            return values
        return " / ".join("failed" if v is None else f"{v:.1f}" for v in values)

    def mbps_best(handler, key):
        values = net_figure(handler, key)
        good = [v for v in values if v is not None] if isinstance(values, list) else []
        return max(good) if good else None

    a, b = (handlers + [None])[:2]
    rows = [
        (f"RunPodSandbox, median (min–max) of {runs}, ms",
         {h: ms_summary(run_ms[h]) for h in handlers},
         ratio(median_or(run_ms.get(a)), median_or(run_ms.get(b)))),
        (f"StopPodSandbox + RemovePodSandbox after it, median (min–max), ms",
         {h: ms_summary(remove_ms[h]) for h in handlers},
         ratio(median_or(remove_ms.get(a)), median_or(remove_ms.get(b)))),
        (f"pod ready (RunPodSandbox + 2 containers RUNNING), median (min–max) of {runs}, ms",
         {h: ms_summary(ready_ms[h]) for h in handlers},
         ratio(median_or(ready_ms.get(a)), median_or(ready_ms.get(b)))),
        ("ping host -> pod IP, 20 × 0.2 s: avg, ms",
         {h: fmt(net_figure(h, "ping_avg"), 3) for h in handlers},
         ratio(net_figure(a, "ping_avg"), net_figure(b, "ping_avg"))),
        ("ping host -> pod IP: max, ms",
         {h: fmt(net_figure(h, "ping_max"), 3) for h in handlers},
         ratio(net_figure(a, "ping_max"), net_figure(b, "ping_max"))),
        (f"TCP host -> pod, {PAYLOAD_MIB} MiB, busybox nc, MB/s (each run)",
         {h: mbps(h, "to_pod") for h in handlers},
         ratio(mbps_best(a, "to_pod"), mbps_best(b, "to_pod"), higher_is_better=True)),
        (f"TCP pod -> host, {PAYLOAD_MIB} MiB, busybox nc, MB/s (each run)",
         {h: mbps(h, "from_pod") for h in handlers},
         ratio(mbps_best(a, "from_pod"), mbps_best(b, "from_pod"), higher_is_better=True)),
    ]
    print(f"bench-cri: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs (nproc {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}), "
          f"kernel {os.uname().release}; load average {load_before} before, {loadavg()} after; "
          f"{runs} runs, {net_runs} throughput runs per direction; "
          f"measuring took {time.monotonic() - began:.0f} s")
    print()
    head = "| measure | " + " | ".join(handlers) + \
        (f" | {b}/{a} (times slower) |" if b else " |")
    print(head)
    print("|" + " --- |" * (len(handlers) + 1 + (1 if b else 0)))
    for what, cells, rat in rows:
        print(f"| {what} | " + " | ".join(cells[h] for h in handlers) +
              (f" | {rat} |" if b else " |"))
    print()
    print("MB = 10^6 bytes. Ping loss: " + ", ".join(
        f"{h} {fmt(net_figure(h, 'ping_loss'), 0)}%" for h in handlers) +
        ". The ratio column: how many times slower the second handler is; for throughput, "
        "from each handler's best run. Busybox nc moves 1 KiB per read/write, so runc's "
        "throughput is nc's own CPU-bound ceiling more than the network's.")
    failed = any(isinstance(v, str) for d in (run_ms, ready_ms) for v in d.values()) or \
        any(v is None for v in net.values())
    return 1 if failed else 0


def fmt(value, digits):
    """A figure with `digits` decimals; a failure as it is; none measured as "-"."""
    if isinstance(value, str):
        return value
    if value is None:
        return "-"
    return f"{value:.{digits}f}"

if __name__ == "__main__":
    sys.exit(main())
