#!/usr/bin/python3
"""The pod resources benchmark's measurements (printed, never asserted), for each runtime
handler against the private containerd that bench-resources.sh started:

  1. hot-plug: a pod whose container is limited to 384 MiB and 1 CPU (it fits the default
     512 MiB VM) gets UpdateContainerResources to 640 MiB and 2 CPUs: the VM needs 256 MiB and
     one vCPU more. The call's wall time, median and min/max of N pods (runc: the same Update on
     a cgroup);
  2. per-pod overhead: K pods, each one container limited to 256 MiB running `sleep`; the PSS of
     the pod's host processes (secure: QEMU, virtiofsd, shim; runc: shim, pause and the
     container's own processes) divided by K, idle, then with each container holding 200 MiB
     (then less those 200 MiB: what the pod costs beyond what its container uses), for each K
     of BENCH_POD_COUNTS.

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


def pods_pss_mib(handler):
    pids = set()
    for prefix in POD_PROCESSES.get(handler, ()):
        pids.update(our_processes(prefix))
    return sum(pss_mib(pid) for pid in pids)


class Bench:
    def __init__(self):
        self.cri = cri_client.Cri(os.environ["CRI_SOCKET"])
        self.image = os.environ["CRI_IMAGE"]
        self.serial = 0

    def pod(self, handler, memory_mib, cpus=0):
        """A pod with one busybox `sleep` container of these limits: (pod id, container id)."""
        self.serial += 1
        config = self.cri.pod_config(f"bench-res-{self.serial}")
        pod_id = self.cri.run_pod(config, handler)
        resources = {"memory_limit_in_bytes": memory_mib * MIB}
        if cpus:
            resources.update(cpu_quota=cpus * 100000, cpu_period=100000)
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
        """(idle PSS per pod, loaded PSS per pod less what the container holds), MiB."""
        pods = []
        try:
            for _ in range(count):
                pods.append(self.pod(handler, 256))
            idle = pods_pss_mib(handler) / count
            for _, box in pods:
                res = self.cri.exec_sync(box, ["sh", "-c", f"dd if=/dev/zero bs={HOLD_MIB}M "
                                               "count=1 2>/dev/null | sleep 3600 >/dev/null 2>&1 &"])
                if res.exit_code != 0:
                    raise RuntimeError(f"holding {HOLD_MIB} MiB failed: {res!r}")
            # The guests fill their buffers at their own pace: wait until the total stops
            # growing (two readings a second apart within 1 %).
            last, loaded = 0.0, pods_pss_mib(handler)
            deadline = time.monotonic() + 120
            while abs(loaded - last) > loaded / 100 and time.monotonic() < deadline:
                time.sleep(1)
                last, loaded = loaded, pods_pss_mib(handler)
            return idle, loaded / count - HOLD_MIB
        finally:
            for pod_id, _ in pods:
                self.remove(pod_id)


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
    for count in counts:
        for i, what in enumerate(("idle", f"holding {HOLD_MIB} MiB, less those")):
            cells = [f"{overheads[h, count][i]:.0f}" if (h, count) in overheads else "failed"
                     for h in handlers]
            print(f"| PSS per pod, {count} pods, {what}, MiB | " + " | ".join(cells) + " |")
    log(f"took {time.monotonic() - began:.0f} s")
    return 0 if all(hotplug[h] for h in handlers) and len(overheads) == len(counts) * len(
        handlers) else 1


if __name__ == "__main__":
    sys.exit(main())
