"""Where the Go-built control plane lives, and the KServe release sources it reads.

``build.sh --print`` names one bin directory per component (keyed by its pin, outside
the clone); nothing here builds. A missing component is a `ControlPlaneMissing` whose
message says which one and how to build it, so the tier can skip (or, under
``RECLAIMER_REQUIRE_CONTROLPLANE=1``, fail) with one line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build.sh"
PINS = HERE / "pins.env"


class ControlPlaneMissing(Exception):
    """Go or a built component is absent; the message is the one line to show."""


def pins() -> dict[str, str]:
    """pins.env as a mapping (shell-quoted values unquoted)."""
    found = {}
    for line in PINS.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip().strip('"')
    return found


def kserve_releases() -> tuple[str, ...]:
    return tuple(pins()["KSERVE_VERSIONS"].split())


@dataclass(frozen=True)
class Binaries:
    """Local paths of every binary the cluster runs; kwokctl downloads none of them."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path
    kwokctl: Path
    kserve_manager: Path
    kubectl: Path  # kwokctl checks the cluster with it, looked up on PATH


def locate(kserve: str) -> Binaries:
    """The built binaries for KServe release ``kserve``, or `ControlPlaneMissing`."""
    if shutil.which("go") is None:
        raise ControlPlaneMissing("Go is not installed: the control plane cannot be built "
                                  "(controlplane tier needs Go 1.24+ and the module proxy)")
    out = subprocess.run([str(BUILD), "--print"], check=True, capture_output=True,
                         text=True).stdout
    dirs: dict[str, Path] = {}
    missing: set[str] = set()
    for line in out.splitlines():
        name, _, path = line.removeprefix("MISSING ").partition("=")
        dirs[name] = Path(path)
        if line.startswith("MISSING "):
            missing.add(name)
    needed = {"etcd", "kubernetes", "kwok", "kubectl", f"kserve-{kserve}"}
    if needed & missing or needed - set(dirs):
        absent = sorted((needed & missing) | (needed - set(dirs)))
        raise ControlPlaneMissing(f"control plane component(s) not built: {', '.join(absent)} "
                                  "(run `make controlplane`)")
    kserve_dir = dirs[f"kserve-{kserve}"]
    k8s = dirs["kubernetes"]
    return Binaries(etcd=dirs["etcd"] / "etcd", kube_apiserver=k8s / "kube-apiserver",
                    kube_controller_manager=k8s / "kube-controller-manager",
                    kube_scheduler=k8s / "kube-scheduler", kwok=dirs["kwok"] / "kwok",
                    kwokctl=dirs["kwok"] / "kwokctl", kserve_manager=kserve_dir / "manager",
                    kubectl=dirs["kubectl"] / "kubectl")


def kserve_source(release: str) -> Path:
    """The release's module source in GOMODCACHE (CRDs, runtimes, config): read, not copied."""
    out = subprocess.run(["go", "mod", "download", "-json", f"github.com/kserve/kserve@{release}"],
                         check=True, capture_output=True, text=True, timeout=300).stdout
    return Path(json.loads(out)["Dir"])
