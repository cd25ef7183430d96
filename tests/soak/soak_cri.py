#!/usr/bin/python3
"""The CRI churn soak's cycles, driven by soak-cri.sh (which sets up containerd and takes the
leak account around them):

    soak_cri.py resident                 runs the resident pod and its first container
    soak_cri.py warmup                   a pod cycle and a container cycle
    soak_cri.py last                     a container cycle (its removal is the resident pod's
                                         last: the guest lets go of the files the others used)
    soak_cri.py cycles N P K             cycles 1..N, P at a time (threads); every K-th of
                                         each thread's is a pod cycle, the others container
                                         cycles

A pod cycle is what the kubelet does for a short-lived pod: RunPodSandbox (with its CNI network
and a hostPort), CreateContainer and StartContainer, an ExecSync whose output is checked, an
ExecSync into the resident pod, StopContainer, RemoveContainer, StopPodSandbox,
RemovePodSandbox. A container cycle does the same with a container of the resident pod, whose
VM then lives through the whole soak with P containers coming and going at once. A failed cycle
writes "cycle soak-N: STEP: ERROR" to SOAK_DIR/failures-W, and what it made is still removed.

Environment (from soak-cri.sh): CRI_SOCKET, CRI_HANDLER, CRI_IMAGE, CRI_WORK, SOAK_DIR.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cri"))
import cri_client  # noqa: E402
from cri_client import CriError  # noqa: E402

HANDLER = os.environ.get("CRI_HANDLER", "secure")
IMAGE = os.environ.get("CRI_IMAGE", "")
# Cycle N's hostPort is CYCLE_PORTS + N % 10000: portmap only writes NAT rules, nothing binds it.
CYCLE_PORTS = 40001
RESIDENT = "resident"
SLEEP = ["sleep", "100000"]


class CycleFailed(Exception):
    pass


def step(what, call, *args, **kw):
    try:
        return call(*args, **kw)
    except (CriError, TimeoutError) as err:
        raise CycleFailed(f"{what}: {err}") from None


def quietly(call, *args):
    """For removing what a failed cycle made: the teardown's clean-up reports what stays."""
    try:
        call(*args)
    except CriError:
        pass


def pod_config(cri, name, host_port):
    """The same config every time for a name (the uid too): container cycles pass the resident
    pod's config again with each CreateContainer, as the kubelet does."""
    log_dir = os.path.join(os.environ["CRI_WORK"], "logs", name)
    os.makedirs(log_dir, exist_ok=True)
    return cri.pod_config(name, log_directory=log_dir, uid=f"soak-{name}",
                          port_mappings=((80, host_port),))


def resident_pod(cri):
    """The resident pod's (id, config), found by name."""
    pods = [p.id for p in cri.list_pods() if p.metadata.name == RESIDENT]
    if len(pods) != 1:
        raise CycleFailed(f"the resident pod: {len(pods)} pods named {RESIDENT!r}")
    return pods[0], pod_config(cri, RESIDENT, CYCLE_PORTS - 1)


def check_echo(cri, container_id, text, where):
    res = step(f"exec {where}", cri.exec_sync, container_id, ["echo", text])
    if res.exit_code != 0 or res.stdout != text + "\n":
        raise CycleFailed(f"exec {where}: {res!r}")


def container_cycle(cri, pod, name, resident_box):
    """A container of pod (id, config) created, started, exec'd into, stopped and removed."""
    config = cri.container_config(name, IMAGE, SLEEP)
    container_id = step("CreateContainer/StartContainer", cri.run_container, pod[0], pod[1],
                        config)
    try:
        check_echo(cri, container_id, name, "in the container")
        if resident_box:
            check_echo(cri, resident_box, name, "in the resident pod")
        step("StopContainer", cri.stop_container, container_id, 0)
        step("RemoveContainer", cri.remove_container, container_id)
    except CycleFailed:
        quietly(cri.remove_container, container_id)
        raise


def pod_cycle(cri, name, host_port, resident_box):
    config = pod_config(cri, name, host_port)
    pod_id = step("RunPodSandbox", cri.run_pod, config, HANDLER)
    try:
        container_cycle(cri, (pod_id, config), name, resident_box)
        step("StopPodSandbox", cri.stop_pod, pod_id)
        step("RemovePodSandbox", cri.remove_pod, pod_id)
    except CycleFailed:
        quietly(cri.stop_pod, pod_id)
        quietly(cri.remove_pod, pod_id)
        raise


def resident_box(cri, resident):
    """The resident pod's first container (named "box")."""
    boxes = [c.id for c in cri.list_containers(resident[0]) if c.metadata.name == "box"]
    if len(boxes) != 1:
        raise CycleFailed(f"the resident pod's container: {len(boxes)} named 'box'")
    return boxes[0]


def failed(worker_no, what):
    with open(os.path.join(os.environ["SOAK_DIR"], f"failures-{worker_no}"), "a") as out:
        print(what, file=out)


def worker(first, cycles, parallel, pod_every):
    cri = cri_client.Cri(os.environ["CRI_SOCKET"])
    try:
        resident = resident_pod(cri)
        box = resident_box(cri, resident)
        for n in range(first, cycles + 1, parallel):
            name = f"soak-{n}"
            try:
                # Every K-th of each worker's own cycles: with n % K, some workers would get
                # every pod cycle and others none (P = 4, K = 10), and finish far apart.
                if (n - first) // parallel % pod_every == pod_every - 1:
                    pod_cycle(cri, name, CYCLE_PORTS + n % 10000, box)
                else:
                    container_cycle(cri, resident, name, box)
            except CycleFailed as err:
                failed(first, f"cycle {name}: {err}")
    except Exception as err:  # a worker that stops must fail the soak, not shorten it
        failed(first, f"worker {first} stopped: {err!r}")
    finally:
        cri.close()


def run_cycles(cycles, parallel, pod_every):
    threads = [threading.Thread(target=worker, args=(w, cycles, parallel, pod_every))
               for w in range(1, parallel + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main(argv):
    cri = cri_client.Cri(os.environ["CRI_SOCKET"])
    try:
        if argv[1:] == ["resident"]:
            config = pod_config(cri, RESIDENT, CYCLE_PORTS - 1)
            pod_id = step("RunPodSandbox", cri.run_pod, config, HANDLER)
            step("CreateContainer/StartContainer", cri.run_container, pod_id, config,
                 cri.container_config("box", IMAGE, SLEEP))
        elif argv[1:] == ["warmup"]:
            resident = resident_pod(cri)
            box = resident_box(cri, resident)
            pod_cycle(cri, "warmup-pod", CYCLE_PORTS - 2, box)
            container_cycle(cri, resident, "warmup-container", box)
        elif argv[1:] == ["last"]:
            resident = resident_pod(cri)
            container_cycle(cri, resident, "last-container", resident_box(cri, resident))
        elif argv[1:2] == ["cycles"] and len(argv) == 5:
            resident_pod(cri)  # there, before the threads look for it
            run_cycles(int(argv[2]), int(argv[3]), int(argv[4]))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except CycleFailed as err:
        print(f"soak_cri.py: {err}", file=sys.stderr)
        return 1
    finally:
        cri.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
