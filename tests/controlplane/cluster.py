"""Start and stop the real control plane: kwokctl's cluster, then the KServe manager.

kwokctl (``--runtime binary``, every binary a local path, RBAC on, admission on, all on
127.0.0.1) runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and the kwok
controller, which plays the kubelet for fake GPU nodes. What kwokctl cannot do is ours:
the KServe release's CRDs, ``inferenceservice-config`` (Raw/Standard default, no Istio or
Knative), its manager with a locally made webhook certificate, the webhook
configurations pointing at it by ``url``, and its ClusterServingRuntimes.

``python -m tests.controlplane.cluster --kserve v0.16.0`` starts one, prints the
kubeconfig path and runs until Ctrl-C or SIGTERM; a failed start stops what it began.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import yaml
from kubernetes import client, config

from tests.controlplane import kserve_install
from tests.controlplane.binaries import Binaries, kserve_source, locate
from tests.controlplane.nodes import create_nodes

START_TIMEOUT = 180.0
CREATE_LOCK = Path(tempfile.gettempdir()) / "reclaimer-kwokctl-create.lock"
"""Held while kwokctl creates a cluster: it picks its components' ports counting down
from 32767 and skips only those already in use, so two creates at once (two pytest
workers, two checkouts) pick the same ports and one cluster fails to come up."""


class StartFailed(Exception):
    """A component did not come up; the message carries the tail of its log."""


@dataclass(frozen=True)
class ControlPlane:
    """A running cluster: where its kubeconfig is and which KServe release it runs."""

    kubeconfig: Path
    kserve: str
    workdir: Path
    name: str
    start_seconds: float

    def api_client(self) -> client.ApiClient:
        configuration = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig),  # type: ignore[no-untyped-call]
                                client_configuration=configuration)
        return client.ApiClient(configuration)


def _kwok_env(workdir: Path, binaries: Binaries) -> dict[str, str]:
    path = f"{binaries.kubectl.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "KWOK_WORKDIR": str(workdir / "kwok"), "PATH": path}


def _kwokctl_config(workdir: Path) -> Path:
    """kwokctl binds every component to 0.0.0.0 unless told otherwise: loopback only."""
    path = workdir / "kwokctl.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1", "kind": "KwokctlConfiguration",
        "options": {"bindAddress": "127.0.0.1"}}))
    return path


@contextmanager
def _one_create_at_a_time() -> Iterator[None]:
    with CREATE_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _create_cluster(name: str, workdir: Path, binaries: Binaries, kubeconfig: Path) -> None:
    args = [str(binaries.kwokctl), "--config", str(_kwokctl_config(workdir)),
            "--name", name, "create", "cluster", "--runtime", "binary",
            "--kube-authorization", "--kube-admission", "--quiet-pull",
            "--etcd-binary", str(binaries.etcd),
            "--kube-apiserver-binary", str(binaries.kube_apiserver),
            "--kube-controller-manager-binary", str(binaries.kube_controller_manager),
            "--kube-scheduler-binary", str(binaries.kube_scheduler),
            "--kwok-controller-binary", str(binaries.kwok),
            "--kubeconfig", str(kubeconfig), "--wait", "120s"]
    with _one_create_at_a_time():
        done = subprocess.run(args, env=_kwok_env(workdir, binaries), capture_output=True,
                              text=True, timeout=START_TIMEOUT, check=False)
    if done.returncode != 0:
        raise StartFailed(f"kwokctl create cluster failed ({done.returncode}):\n"
                          f"{done.stderr[-3000:]}{done.stdout[-1000:]}")


def _delete_cluster(name: str, workdir: Path, binaries: Binaries) -> None:
    subprocess.run([str(binaries.kwokctl), "--name", name, "delete", "cluster"],
                   env=_kwok_env(workdir, binaries), capture_output=True, timeout=120,
                   check=False)


@contextmanager
def running(kserve: str, workdir: Path | None = None) -> Iterator[ControlPlane]:
    """Start the cluster for ``kserve``, yield it ready, always stop it."""
    binaries = locate(kserve)
    began = time.monotonic()
    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rcp-")))
        workdir.mkdir(parents=True, exist_ok=True)
        name = f"rcp-{os.getpid()}-{kserve.replace('.', '-')}"
        kubeconfig = workdir / "kubeconfig"
        stack.callback(_delete_cluster, name, workdir, binaries)
        _create_cluster(name, workdir, binaries, kubeconfig)
        _use_context(kubeconfig, f"kwok-{name}")
        plane = ControlPlane(kubeconfig=kubeconfig, kserve=kserve, workdir=workdir,
                             name=name, start_seconds=0.0)
        api = stack.enter_context(plane.api_client())
        create_nodes(api)
        stack.enter_context(kserve_install.installed(
            api, kubeconfig=kubeconfig, source=kserve_source(kserve),
            manager=binaries.kserve_manager, workdir=workdir / "kserve"))
        yield ControlPlane(kubeconfig=kubeconfig, kserve=kserve, workdir=workdir, name=name,
                           start_seconds=time.monotonic() - began)


def _use_context(kubeconfig: Path, context: str) -> None:
    """kwokctl adds its context to the file; make it the current one."""
    doc = yaml.safe_load(kubeconfig.read_text())
    doc["current-context"] = context
    kubeconfig.write_text(yaml.safe_dump(doc))


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kserve", required=True, help="KServe release, e.g. v0.16.0")
    parser.add_argument("--workdir", type=Path, help="keep state here (default: a temp dir)")
    parser.add_argument("--kubeconfig-out", type=Path, help="copy the kubeconfig here")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with running(args.kserve, args.workdir) as plane:
            if args.kubeconfig_out:
                shutil.copyfile(plane.kubeconfig, args.kubeconfig_out)
            print(f"control plane ready in {plane.start_seconds:.1f} s: KServe {plane.kserve}, "
                  f"KUBECONFIG={args.kubeconfig_out or plane.kubeconfig}", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
