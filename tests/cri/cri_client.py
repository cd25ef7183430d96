#!/usr/bin/python3
"""A small Kubernetes CRI (runtime.v1) client for the CRI end-to-end tests.

It speaks gRPC to containerd's CRI plugin over its unix socket, with messages from our own subset
of the CRI protocol (cri_api.proto, compiled with protoc when this module is imported; nothing
generated is kept). No gRPC stubs are generated: every call is a plain unary call by method path.

Library:
    import cri_client
    cri = cri_client.Cri("/tmp/dir/containerd.sock")
    pod = cri.run_pod("web", "runc", log_directory="/tmp/logs")
    ctr = cri.create_container(pod, "box", "localhost/sc-test/busybox:1", ["sleep", "3600"])
    cri.start_container(ctr)
    out = cri.exec_sync(ctr, ["echo", "hi"])        # -> ExecResult(stdout, stderr, exit_code)

CLI (for shell scripts and by hand):
    cri_client.py --socket SOCK version | pods | containers | images | cleanup
"""

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_protocol():
    """Compiles cri_api.proto into a scratch dir and imports the generated module."""
    protoc = shutil.which("protoc")
    if protoc is None:
        raise RuntimeError("protoc not found (apt-get install protobuf-compiler)")
    out = tempfile.mkdtemp(prefix="sc-cri-proto.")
    try:
        subprocess.run([protoc, "-I", HERE, "--python_out=" + out, "cri_api.proto"],
                       check=True)
        spec = importlib.util.spec_from_file_location(
            "cri_api_pb2", os.path.join(out, "cri_api_pb2.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        shutil.rmtree(out, ignore_errors=True)


pb = _load_protocol()

# Short names for the enums the tests use.
POD, CONTAINER, NODE, TARGET = pb.POD, pb.CONTAINER, pb.NODE, pb.TARGET
CREATED, RUNNING, EXITED, UNKNOWN = (pb.CONTAINER_CREATED, pb.CONTAINER_RUNNING,
                                     pb.CONTAINER_EXITED, pb.CONTAINER_UNKNOWN)
STATE_NAMES = {v: k for k, v in pb.ContainerState.items()}


class CriError(Exception):
    """A CRI call failed: carries the gRPC status code and the runtime's message."""

    def __init__(self, method, code, details):
        super().__init__(f"{method}: {code.name}: {details}")
        self.method = method
        self.code = code
        self.details = details


class ExecResult:
    def __init__(self, resp):
        self.stdout = resp.stdout.decode(errors="replace")
        self.stderr = resp.stderr.decode(errors="replace")
        self.exit_code = resp.exit_code

    def __repr__(self):
        return (f"ExecResult(exit_code={self.exit_code}, stdout={self.stdout!r}, "
                f"stderr={self.stderr!r})")


def poll(seconds, probe, interval=0.1):
    """Calls probe() until it returns something true; returns that, or None after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def namespace_options(network=POD, pid=CONTAINER, ipc=POD):
    """The defaults are what the kubelet sends for an ordinary pod."""
    return pb.NamespaceOption(network=network, pid=pid, ipc=ipc)


class Cri:
    """One connection to a CRI server. Every call has a deadline (never hangs a test)."""

    def __init__(self, socket, timeout=120.0):
        self.channel = grpc.insecure_channel("unix://" + socket)
        self.timeout = timeout
        self._calls = {}

    def close(self):
        self.channel.close()

    def call(self, service, method, request, timeout=None):
        """Calls runtime.v1.<service>/<method>; the response type is <method>Response."""
        key = (service, method)
        if key not in self._calls:
            response_type = getattr(pb, method + "Response")
            self._calls[key] = self.channel.unary_unary(
                f"/runtime.v1.{service}/{method}",
                request_serializer=lambda msg: msg.SerializeToString(),
                response_deserializer=response_type.FromString)
        try:
            return self._calls[key](request, timeout=timeout or self.timeout)
        except grpc.RpcError as err:
            raise CriError(method, err.code(), err.details()) from None

    def runtime(self, method, deadline=None, **fields):
        """deadline: seconds for this call (some requests have a field named timeout)."""
        return self.call("RuntimeService", method, getattr(pb, method + "Request")(**fields),
                         deadline)

    def image(self, method, **fields):
        return self.call("ImageService", method, getattr(pb, method + "Request")(**fields))

    # --- version and images

    def version(self):
        return self.runtime("Version", version="v1")

    def image_status(self, image):
        return self.image("ImageStatus", image=pb.ImageSpec(image=image)).image

    def list_images(self):
        return list(self.image("ListImages").images)

    # --- pods

    @staticmethod
    def pod_config(name, ns_options=None, cgroup_parent=None, hostname=None, dns=None,
                   searches=(), port_mappings=(), log_directory=None, uid=None, sysctls=None,
                   privileged=False, annotations=None):
        """A PodSandboxConfig as the kubelet builds it. port_mappings: (container, host) pairs."""
        linux = pb.LinuxPodSandboxConfig(
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=ns_options or namespace_options()))
        if cgroup_parent:
            linux.cgroup_parent = cgroup_parent
        linux.sysctls.update(sysctls or {})
        linux.security_context.privileged = privileged
        config = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=uid or f"uid-{name}-{os.getpid()}",
                                           namespace="sc-cri-test", attempt=0),
            hostname=name if hostname is None else hostname,
            labels={"sc-cri-test": "1"},
            annotations=annotations or {},
            linux=linux)
        if log_directory:
            config.log_directory = log_directory
        if dns:
            config.dns_config.servers.extend(dns)
            config.dns_config.searches.extend(searches)
        for container_port, host_port in port_mappings:
            config.port_mappings.add(protocol=pb.TCP, container_port=container_port,
                                     host_port=host_port)
        return config

    def run_pod(self, config, runtime_handler):
        """RunPodSandbox of a config from pod_config(); returns the pod id."""
        return self.runtime("RunPodSandbox", config=config,
                            runtime_handler=runtime_handler).pod_sandbox_id

    def pod_status(self, pod_id, verbose=False):
        return self.runtime("PodSandboxStatus", pod_sandbox_id=pod_id, verbose=verbose)

    def pod_ip(self, pod_id):
        return self.pod_status(pod_id).status.network.ip

    def pod_info(self, pod_id):
        """containerd's verbose sandbox info (pid, runtime spec, CNI result) as a dict."""
        info = self.pod_status(pod_id, verbose=True).info.get("info", "{}")
        return json.loads(info)

    def list_pods(self):
        return list(self.runtime("ListPodSandbox").items)

    def stop_pod(self, pod_id):
        self.runtime("StopPodSandbox", pod_sandbox_id=pod_id)

    def remove_pod(self, pod_id):
        self.runtime("RemovePodSandbox", pod_sandbox_id=pod_id)

    # --- containers

    @staticmethod
    def container_config(name, image, command, args=(), attempt=0, envs=None, mounts=(),
                         log_path=None, working_dir=None, ns_options=None, security=None,
                         resources=None):
        """A ContainerConfig. mounts: (host_path, container_path, readonly) triples;
        security: a dict of LinuxContainerSecurityContext fields (namespace options apart)."""
        sc = pb.LinuxContainerSecurityContext(
            namespace_options=ns_options or namespace_options(), **(security or {}))
        config = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name, attempt=attempt),
            image=pb.ImageSpec(image=image),
            command=list(command), args=list(args),
            envs=[pb.KeyValue(key=k, value=v) for k, v in (envs or {}).items()],
            labels={"sc-cri-test": "1"},
            linux=pb.LinuxContainerConfig(security_context=sc))
        if resources:
            config.linux.resources.CopyFrom(pb.LinuxContainerResources(**resources))
        for host_path, container_path, readonly in mounts:
            config.mounts.add(host_path=host_path, container_path=container_path,
                              readonly=readonly)
        if log_path:
            config.log_path = log_path
        if working_dir:
            config.working_dir = working_dir
        return config

    def create_container(self, pod_id, pod_config, config):
        return self.runtime("CreateContainer", pod_sandbox_id=pod_id, config=config,
                            sandbox_config=pod_config).container_id

    def start_container(self, container_id):
        self.runtime("StartContainer", container_id=container_id)

    def run_container(self, pod_id, pod_config, config, wait_running=True):
        """Create + start; waits until the runtime reports it RUNNING (or already EXITED)."""
        container_id = self.create_container(pod_id, pod_config, config)
        self.start_container(container_id)
        if wait_running:
            self.wait_container_state(container_id, (RUNNING, EXITED), 60)
        return container_id

    def stop_container(self, container_id, timeout=0):
        # containerd waits up to `timeout` s, then kills: give the call that much more time.
        self.runtime("StopContainer", deadline=self.timeout + timeout,
                     container_id=container_id, timeout=timeout)

    def remove_container(self, container_id):
        self.runtime("RemoveContainer", container_id=container_id)

    def container_status(self, container_id):
        return self.runtime("ContainerStatus", container_id=container_id).status

    def list_containers(self, pod_id=None):
        request_filter = pb.ContainerFilter(pod_sandbox_id=pod_id) if pod_id else None
        return list(self.runtime("ListContainers", filter=request_filter).containers)

    def wait_container_state(self, container_id, states, seconds):
        """Polls ContainerStatus until its state is one of `states`; returns the status.
        Raises TimeoutError naming the last state seen."""
        if isinstance(states, int):
            states = (states,)
        deadline = time.monotonic() + seconds
        while True:
            status = self.container_status(container_id)
            if status.state in states:
                return status
            if time.monotonic() >= deadline:
                want = "/".join(STATE_NAMES[s] for s in states)
                raise TimeoutError(f"container {container_id[:12]}: still "
                                   f"{STATE_NAMES[status.state]} after {seconds}s "
                                   f"(waited for {want})")
            time.sleep(0.1)

    def exec_sync(self, container_id, cmd, timeout=30):
        """ExecSync with a runtime-side timeout; the gRPC deadline is a bit longer."""
        return ExecResult(self.runtime("ExecSync", deadline=timeout + 30,
                                       container_id=container_id, cmd=list(cmd),
                                       timeout=timeout))

    def container_stats(self, container_id):
        return self.runtime("ContainerStats", container_id=container_id).stats

    def update_resources(self, container_id, **resources):
        self.runtime("UpdateContainerResources", container_id=container_id,
                     linux=pb.LinuxContainerResources(**resources))

    # --- clean-up

    def remove_everything(self, log=print):
        """Stops and removes every pod (and with it its containers): the CRI way, so that
        CNI's DEL runs and the runtime tears the pods down normally. Returns False if a call
        failed."""
        ok = True
        for pod in self.list_pods():
            for step in (self.stop_pod, self.remove_pod):
                try:
                    step(pod.id)
                except CriError as err:
                    log(f"clean-up of pod {pod.id[:12]} ({pod.metadata.name}): {err}")
                    ok = False
        return ok


def _main():
    parser = argparse.ArgumentParser(description="a minimal CRI client")
    parser.add_argument("--socket", required=True, help="the CRI server's unix socket")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("command", choices=["version", "pods", "containers", "images",
                                            "cleanup"])
    args = parser.parse_args()
    cri = Cri(args.socket, args.timeout)
    try:
        if args.command == "version":
            print(cri.version())
        elif args.command == "pods":
            for pod in cri.list_pods():
                print(pod.id, pod.metadata.name, pb.PodSandboxState.Name(pod.state),
                      pod.runtime_handler)
        elif args.command == "containers":
            for ctr in cri.list_containers():
                print(ctr.id, ctr.pod_sandbox_id[:12], ctr.metadata.name,
                      STATE_NAMES[ctr.state])
        elif args.command == "images":
            for image in cri.list_images():
                print(image.id, " ".join(image.repo_tags))
        elif args.command == "cleanup":
            return 0 if cri.remove_everything(
                lambda msg: print("cri_client:", msg, file=sys.stderr)) else 1
    except CriError as err:
        print("cri_client:", err, file=sys.stderr)
        return 1
    finally:
        cri.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
