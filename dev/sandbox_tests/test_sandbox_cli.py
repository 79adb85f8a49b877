"""`reclaimer sandbox` as a process: prints its URL, serves the scenario, exits on SIGTERM."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from kubernetes import client

from tests.fixtures.sandbox import api_client_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sandbox-scenario.yaml"


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "reclaimer", "sandbox", "--port", "0", "--scenario",
         str(EXAMPLE), "--kubeconfig-out", str(kubeconfig)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    url = line.rsplit(" ", 1)[-1].strip()
    yield proc, url
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=20)


def test_serves_the_scenario_until_sigterm(
        sandbox_process: tuple[subprocess.Popen[str], str]) -> None:
    proc, url = sandbox_process
    with api_client_for(url) as api:
        listed = client.CustomObjectsApi(api).list_cluster_custom_object(
            "serving.kserve.io", "v1beta1", "inferenceservices")
    items = cast(dict[str, list[object]], listed)["items"]
    assert len(items) == 5
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_kubectl_get_rp_works_on_the_sandbox(
        sandbox_process: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, url = sandbox_process
    done = subprocess.run(["kubectl", "--server", url, "--cache-dir", str(tmp_path / "c"),
                           "get", "rp", "-A"], capture_output=True, text=True, timeout=30,
                          check=False)
    assert (done.returncode, done.stderr.strip()) == (0, "No resources found")


def test_a_bad_scenario_exits_1_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kserve: '0.13'\n")
    done = subprocess.run([sys.executable, "-m", "reclaimer", "sandbox", "--scenario",
                           str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=30,
                          check=False)
    assert (done.returncode, "kserve: '0.13' is not one of" in done.stderr) == (1, True)


def test_a_taken_port_exits_1_naming_the_flag() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "reclaimer", "sandbox", "--port",
                               str(port)], capture_output=True, text=True, cwd=ROOT,
                              timeout=30, check=False)
    assert (done.returncode, f"--port {port}: cannot listen" in done.stderr) == (1, True)
