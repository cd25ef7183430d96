#!/usr/bin/python3
"""The CRI churn soak's cycles, driven by soak-cri.sh (which sets up containerd and takes the
leak account around them):

    soak_cri.py resident             runs the resident pod; prints its container's id
    soak_cri.py cycles N P RESIDENT  runs cycles 1..N, P at a time (threads)
    soak_cri.py cycle N RESIDENT     cycle N alone (the warm-up is cycle 0)

A cycle is what the kubelet does for a short-lived pod: RunPodSandbox (with its CNI network),
CreateContainer and StartContainer, an ExecSync whose output is checked, an ExecSync into the
resident pod, StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox. A failed cycle
writes "cycle soak-N: STEP: ERROR" to SOAK_DIR/failures-W and its pod is still removed.

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


class CycleFailed(Exception):
    pass


def step(what, call, *args, **kw):
    try:
        return call(*args, **kw)
    except (CriError, TimeoutError) as err:
        raise CycleFailed(f"{what}: {err}") from None


def check_echo(cri, container_id, text, where):
    res = step(f"exec {where}", cri.exec_sync, container_id, ["echo", text])
    if res.exit_code != 0 or res.stdout != text + "\n":
        raise CycleFailed(f"exec {where}: {res!r}")


def run_pod(cri, name, command, host_port):
    """A pod with one busybox container running `command` and a hostPort (so that CNI's portmap
    writes iptables rules for it); returns (pod id, container id). The pod is removed again if
    its container cannot be started."""
    log_dir = os.path.join(os.environ["CRI_WORK"], "logs", name)
    os.makedirs(log_dir, exist_ok=True)
    config = cri.pod_config(name, log_directory=log_dir, port_mappings=((80, host_port),))
    pod_id = step("RunPodSandbox", cri.run_pod, config, HANDLER)
    try:
        container = cri.container_config("box", IMAGE, command)
        return pod_id, step("CreateContainer/StartContainer", cri.run_container, pod_id, config,
                            container)
    except CycleFailed:
        remove_pod(cri, pod_id)
        raise


def remove_pod(cri, pod_id):
    try:
        cri.stop_pod(pod_id)
        cri.remove_pod(pod_id)
    except CriError:
        pass  # the cycle already failed; the teardown's clean-up reports what stays


def cycle(cri, n, resident):
    name = f"soak-{n}"
    pod_id, container_id = run_pod(cri, name, ["sleep", "100000"], CYCLE_PORTS + n % 10000)
    try:
        check_echo(cri, container_id, name, "in the pod")
        check_echo(cri, resident, name, "in the resident pod")
        step("StopContainer", cri.stop_container, container_id, 0)
        step("RemoveContainer", cri.remove_container, container_id)
        step("StopPodSandbox", cri.stop_pod, pod_id)
        step("RemovePodSandbox", cri.remove_pod, pod_id)
    except CycleFailed:
        remove_pod(cri, pod_id)
        raise


def worker(socket, first, cycles, parallel, resident):
    cri = cri_client.Cri(socket)
    for n in range(first, cycles + 1, parallel):
        try:
            cycle(cri, n, resident)
        except CycleFailed as err:
            with open(os.path.join(os.environ["SOAK_DIR"], f"failures-{first}"), "a") as out:
                print(f"cycle soak-{n}: {err}", file=out)
    cri.close()


def main(argv):
    socket = os.environ["CRI_SOCKET"]
    cri = cri_client.Cri(socket)
    try:
        if argv[1:2] == ["resident"] and len(argv) == 2:
            print(run_pod(cri, "resident", ["sleep", "100000"], CYCLE_PORTS - 1)[1])
        elif argv[1:2] == ["cycle"] and len(argv) == 4:
            cycle(cri, int(argv[2]), argv[3])
        elif argv[1:2] == ["cycles"] and len(argv) == 5:
            cycles, parallel = int(argv[2]), int(argv[3])
            threads = [threading.Thread(target=worker,
                                        args=(socket, w, cycles, parallel, argv[4]))
                       for w in range(1, parallel + 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
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
