"""What `pip install .` and the image get: the product, never the sandbox (issue 17).

The root project's wheel is built from a copy of the sources the way pip builds it
(setuptools' PEP 517 hook, no network), with dev/ present next to it, and its file list
is read: a wheel holds exactly what `pip install .` installs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = "from setuptools import build_meta; print(build_meta.build_wheel({out!r}))"


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("reclaimer", "dev"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-c", BUILD.format(out=str(out))], cwd=src,
                          capture_output=True, text=True, timeout=110, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    with zipfile.ZipFile(out / done.stdout.splitlines()[-1]) as wheel:
        return wheel.namelist()


@pytest.mark.timeout(120)
def test_the_product_wheel_holds_no_sandbox_module(wheel_files: list[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_files if not name.startswith("reclaimer-")}
    sandbox = [name for name in wheel_files if "sandbox" in name or "reclaimer_dev" in name]
    assert (tops, sandbox) == ({"reclaimer"}, [])


@pytest.mark.timeout(120)
def test_the_product_wheel_has_the_command_and_the_migrations(wheel_files: list[str]) -> None:
    """The other half: the filter above did not empty the wheel."""
    wanted = {"reclaimer/cli/__init__.py", "reclaimer/py.typed",
              "reclaimer/ledger/migrations/script.py.mako"}
    assert wanted - set(wheel_files) == set()
