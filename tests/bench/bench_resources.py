#!/usr/bin/python3
"""The pod resources benchmark's measurements (printed, never asserted), for each runtime
handler against the private containerd that bench-resources.sh started:

  1. hot-plug: a pod whose container is limited to 384 MiB and 1 CPU (it fits the default
     512 MiB VM) gets UpdateContainerResources to 640 MiB and 2 CPUs: the VM needs 256 MiB and
     one vCPU more. The call's wall time, median and min/max of N pods (runc: the same Update on
     a cgroup);
  2. per-pod overhead: K pods, each one container limited to 256 MiB and half a CPU running
     `sleep`; the PSS of the pod's host processes (secure: QEMU, virtiofsd, shim; runc: shim,
     pause and the container's own processes) divided by K, idle, then with each container
     holding 200 MiB (then less those 200 MiB: what the pod costs beyond what its container
     uses), for each K of BENCH_POD_COUNTS; and the CPU those processes use, idle (per pod) and,
     with one pod, while its container spins at its half CPU (less that half: the overhead).

    bench_resources.py      environment: CRI_SOCKET, CRI_IMAGE, CRI_WORK, BENCH_RUNS (N,
                            default 3), BENCH_POD_COUNTS ("1 10"), BENCH_HANDLERS ("runc secure")
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cri"))
import cri_client  # noqa: E402  (found through the path above)
from cri_client import RUNNING, CriError  # noqa: E402
from cri_cases import our_processes  # noqa: E402

MIB = 1 << 20
HOLD_MIB = 200
SPIN_CPUS = 0.5
CPU_WINDOW_S = 20
TICKS = os.sysconf("SC_CLK_TCK")
# The processes that make up a pod on the host, per handler (executable name prefixes).
POD_PROCESSES = {
    "secure": ("qemu-system", "virtiofsd", "containerd-shim-secure"),
    "runc": ("containerd-shim-runc", "pause", "busybox"),
}


def log(msg):
    print("#", msg, file=sys.stderr, flush=True)


def pss_mib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def pod_pids(handler):
    pids = set()
    for prefix in POD_PROCESSES.get(handler, ()):
        pids.update(our_processes(prefix))
    return pids


def pods_pss_mib(handler):
    return sum(pss_mib(pid) for pid in pod_pids(handler))


def cpu_seconds(pids):
    """utime + stime of the processes (all their threads), in seconds; gone ones count 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / TICKS


def cpu_share(handler):
    """The CPUs the pods' processes use over CPU_WINDOW_S (1.0: one CPU all the time)."""
    pids = pod_pids(handler)
    before, start = cpu_seconds(pids), time.monotonic()
    time.sleep(CPU_WINDOW_S)
    return (cpu_seconds(pids) - before) / (time.monotonic() - start)


class Bench:
    def __init__(self):
        self.cri = cri_client.Cri(os.environ["CRI_SOCKET"])
        self.image = os.environ["CRI_IMAGE"]
        self.serial = 0

    def pod(self, handler, memory_mib, cpus=0.0):
        """A pod with one busybox `sleep` container of these limits: (pod id, container id)."""
        self.serial += 1
        config = self.cri.pod_config(f"bench-res-{self.serial}")
        pod_id = self.cri.run_pod(config, handler)
        resources = {"memory_limit_in_bytes": memory_mib * MIB}
        if cpus:
            resources.update(cpu_quota=int(cpus * 100000), cpu_period=100000)
        ctr = self.cri.container_config("box", self.image, ["sleep", "3600"],
                                        resources=resources)
        return pod_id, self.cri.run_container(pod_id, config, ctr)

    def remove(self, pod_id):
        self.cri.stop_pod(pod_id)
        self.cri.remove_pod(pod_id)

    def hotplug_once(self, handler):
        pod_id, box = self.pod(handler, 384, 1)
        try:
            start = time.monotonic()
            self.cri.update_resources(box, memory_limit_in_bytes=640 * MIB, cpu_quota=200000,
                                      cpu_period=100000)
            return (time.monotonic() - start) * 1000
        finally:
            self.remove(pod_id)

    def overhead(self, handler, count):
        """{figure: value}: idle and loaded PSS per pod (MiB), idle CPU per pod, and with one
        pod the CPU beyond what its spinning container uses."""
        pods = []
        figures = {}
        try:
            for _ in range(count):
                pods.append(self.pod(handler, 256, SPIN_CPUS))
            figures["pss idle"] = pods_pss_mib(handler) / count
            figures["cpu idle"] = cpu_share(handler) / count
            for _, box in pods:
                self.background(box, f"dd if=/dev/zero bs={HOLD_MIB}M count=1 | sleep 3600")
            figures["pss held"] = self.settled_pss(handler) / count - HOLD_MIB
            if count == 1:
                self.background(pods[0][1], "while :; do :; done")
                figures["cpu spin"] = cpu_share(handler) - SPIN_CPUS
            return figures
        finally:
            for pod_id, _ in pods:
                self.remove(pod_id)

    def background(self, box, command):
        res = self.cri.exec_sync(box, ["sh", "-c", f"({command}) >/dev/null 2>&1 &"])
        if res.exit_code != 0:
            raise RuntimeError(f"{command}: {res!r}")

    @staticmethod
    def settled_pss(handler):
        """The pods' PSS once it stops growing (two readings a second apart within 1 %): the
        guests fill their buffers at their own pace."""
        last, now = 0.0, pods_pss_mib(handler)
        deadline = time.monotonic() + 120
        while abs(now - last) > now / 100 and time.monotonic() < deadline:
            time.sleep(1)
            last, now = now, pods_pss_mib(handler)
        return now


def summary(values):
    if not values:
        return "failed"
    return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def main():
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    counts = [int(k) for k in os.environ.get("BENCH_POD_COUNTS", "1 10").split()]
    handlers = os.environ.get("BENCH_HANDLERS", "runc secure").split()
    bench = Bench()
    began = time.monotonic()
    hotplug = {h: [] for h in handlers}
    for run in range(runs):
        for handler in handlers:
            try:
                hotplug[handler].append(bench.hotplug_once(handler))
            except (CriError, TimeoutError, RuntimeError) as err:
                log(f"{handler}: hot-plug run {run}: {err}")
    overheads = {}
    for count in counts:
        for handler in handlers:
            try:
                overheads[handler, count] = bench.overhead(handler, count)
            except (CriError, TimeoutError, RuntimeError) as err:
                log(f"{handler}: {count} pods: {err}")
    print(f"\n| pod resources ({runs} runs) | " + " | ".join(handlers) + " |")
    print("|---|" + "---|" * len(handlers))
    print("| Update +256 MiB +1 CPU, ms (median (min–max)) | " +
          " | ".join(summary(hotplug[h]) for h in handlers) + " |")
    rows = (("pss idle", "PSS per pod, idle, MiB", "{:.0f}"),
            ("pss held", f"PSS per pod less the {HOLD_MIB} MiB each container holds, MiB",
             "{:.0f}"),
            ("cpu idle", "host CPU per idle pod (share of one CPU)", "{:.1%}"),
            ("cpu spin", f"host CPU beyond a container spinning at {SPIN_CPUS} CPU (share of one CPU)",
             "{:.1%}"))
    for count in counts:
        for key, what, form in rows:
            cells = [form.format(overheads[h, count][key])
                     if key in overheads.get((h, count), {}) else "-" for h in handlers]
            if any(c != "-" for c in cells):
                print(f"| {what}, {count} pod(s) | " + " | ".join(cells) + " |")
    log(f"took {time.monotonic() - began:.0f} s")
    return 0 if all(hotplug[h] for h in handlers) and len(overheads) == len(counts) * len(
        handlers) else 1


if __name__ == "__main__":
    sys.exit(main())
