from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from reclaimer.config import Settings, env_name, load_settings
from reclaimer.errors import ConfigInvalid


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_are_sqlite_30s_tick_auto_strategy() -> None:
    settings = load_settings(None, env={})
    assert (settings.database, settings.tick, settings.executor.strategy) == (
        "sqlite:///reclaimer.db", timedelta(seconds=30), "auto")


def test_file_values_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "tick: 10s\nexecutor: {strategy: managed, verifyTimeout: 2m}\n")
    settings = load_settings(path, env={})
    assert settings.tick == timedelta(seconds=10)
    assert settings.executor.verify_timeout == timedelta(minutes=2)


def test_environment_beats_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "safety: {maxStopsPerTick: 7}\n")
    settings = load_settings(path, env={"RECLAIMER_SAFETY_MAX_STOPS_PER_TICK": "3"})
    assert settings.safety.max_stops_per_tick == 3


def test_flags_beat_environment() -> None:
    settings = load_settings(None, env={"RECLAIMER_DATABASE": "sqlite:///a.db"},
                             flags={"database": "sqlite:///b.db"})
    assert settings.database == "sqlite:///b.db"


def test_a_flag_left_unset_does_not_override() -> None:
    settings = load_settings(None, env={"RECLAIMER_KUBECONFIG": "/k"}, flags={"kubeconfig": None})
    assert settings.kubeconfig == "/k"


def test_prometheus_section_merges_over_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, "prometheus: {url: 'http://p:9090'}\n")
    settings = load_settings(path, env={"RECLAIMER_PROMETHEUS_TIMEOUT": "3s"})
    assert settings.prometheus == {"url": "http://p:9090", "timeout": "3s"}


@pytest.mark.parametrize(("key", "env"), [
    pytest.param("leaderElection.enabled", "RECLAIMER_LEADER_ELECTION_ENABLED", id="camel"),
    pytest.param("database", "RECLAIMER_DATABASE", id="top-level"),
    pytest.param("executor.verifyTimeout", "RECLAIMER_EXECUTOR_VERIFY_TIMEOUT", id="nested"),
])
def test_environment_names(key: str, env: str) -> None:
    assert env_name(key) == env


@pytest.mark.parametrize(("text", "key"), [
    pytest.param("tick: soon\n", "tick", id="bad-duration"),
    pytest.param("executor: {stratgy: native}\n", "executor.stratgy", id="unknown-key"),
    pytest.param("executor: {strategy: magic}\n", "executor.strategy", id="bad-enum"),
    pytest.param("safety: {massIdleFraction: 2}\n", "safety.massIdleFraction", id="fraction"),
    pytest.param("http: {port: 70000}\n", "http.port", id="port"),
    pytest.param("database: mysql://x\n", "database", id="database-url"),
    pytest.param("leaderElection: {enabled: maybe}\n", "leaderElection.enabled", id="bool"),
    pytest.param("executor: {kserveVersion: '2.19'}\n", "executor.kserveVersion",
                 id="kserve-version-no-release-has"),
    pytest.param("- a\n- b\n", "--config", id="not-a-mapping"),
    pytest.param("a: [\n", "--config", id="not-yaml"),
])
def test_bad_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigInvalid) as info:
        load_settings(_write(tmp_path, text), env={})
    assert info.value.key == key


def test_bad_environment_value_names_the_key() -> None:
    with pytest.raises(ConfigInvalid, match=r"safety\.maxStopsPerTick"):
        load_settings(None, env={"RECLAIMER_SAFETY_MAX_STOPS_PER_TICK": "many"})


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().tick = timedelta(0)  # type: ignore[misc]


def test_kserve_namespace_is_configurable() -> None:
    settings = load_settings(None, env={"RECLAIMER_KSERVE_NAMESPACE": "kserve-system"})
    assert settings.kserve_namespace == "kserve-system"


def test_watch_namespaces_default_to_every_namespace() -> None:
    assert load_settings(None, env={}).watch_namespaces == ()


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        pytest.param("watchNamespaces: [team-a, team-b]\n", {}, ("team-a", "team-b"),
                     id="file list"),
        pytest.param("", {"RECLAIMER_WATCH_NAMESPACES": "team-a, team-b"},
                     ("team-a", "team-b"), id="environment comma-separated"),
        pytest.param("watchNamespaces: [team-a, team-a]\n", {}, ("team-a",),
                     id="duplicates once"),
        pytest.param("watchNamespaces: [team-a]\n", {"RECLAIMER_WATCH_NAMESPACES": "team-b"},
                     ("team-b",), id="environment beats file"),
    ],
)
def test_watch_namespaces_are_read(tmp_path: Path, text: str, env: dict[str, str],
                                   expected: tuple[str, ...]) -> None:
    assert load_settings(_write(tmp_path, text), env=env).watch_namespaces == expected


@pytest.mark.parametrize(
    "value",
    [pytest.param("Team_A", id="not a namespace name"),
     pytest.param("team-a,-bad", id="one bad name among good")],
)
def test_bad_watch_namespace_names_the_key(value: str) -> None:
    with pytest.raises(ConfigInvalid, match=r"watchNamespaces"):
        load_settings(None, env={"RECLAIMER_WATCH_NAMESPACES": value})
