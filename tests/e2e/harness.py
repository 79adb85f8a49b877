"""Run `reclaimer run` as a child process against real parts, on a shared timeline.

A `Timeline` is the documented clock hook (reclaimer/clock.py): the child gets
``RECLAIMER_TEST_CLOCK_START/SPEED/ORIGIN`` and the sandbox gets the same
`ShiftedClock`, so object, condition and managedFields times agree with the child's
decisions, whatever the child's start-up time and across restarts. A `held` timeline
stands still for a few real seconds first, so a scenario can start just before the
instant it is about (an edge) and still have its children ticking when time runs.

`Child` owns one process: its config file, its JSON log (stderr), its probes. Tests
poll with deadlines (`wait_for`), never fixed sleeps, and stop every child in teardown.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import yaml
from prometheus_client.parser import text_string_to_metric_families

from reclaimer.clock import ORIGIN_ENV, SPEED_ENV, START_ENV, ShiftedClock, SystemClock
from reclaimer.ledger import open_ledger
from reclaimer.ledger.records import TransitionRecord
from tests.fixtures.prometheus import free_port

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
# Real seconds the timeline holds at its start, so children are up before time runs
# (start-up takes about 1 s on an idle host and several on a loaded 2-core one).
LEAD = 8.0


class Timeline:
    """Simulated ``start`` shown at the real instant ``origin``, running ``speed`` x.

    A held timeline has no origin yet: it shows ``start`` until `release`, which the
    stage calls once its Prometheus and sandbox are up, so their start-up (many
    seconds on a loaded host, e.g. beside other pytest workers) never eats the
    ``lead`` that the children are given to come up before time runs."""

    def __init__(self, start: datetime, speed: float, *, lead: float | None = None) -> None:
        self.start = start
        self.speed = speed
        self.lead = lead
        self.origin: datetime | None = None if lead is not None else SystemClock().now()

    def release(self) -> None:
        """Time runs ``lead`` real seconds from now (once; later calls change nothing)."""
        if self.origin is None:
            self.origin = SystemClock().now() + timedelta(seconds=self.lead or 0.0)

    def clock(self) -> ShiftedClock:
        origin = self.origin or SystemClock().now() + timedelta(days=1)
        return ShiftedClock(self.start, speed=self.speed, origin=origin)

    def now(self) -> datetime:
        return self.clock().now()

    def env(self) -> dict[str, str]:
        self.release()
        assert self.origin is not None
        return {START_ENV: self.start.isoformat(), SPEED_ENV: str(self.speed),
                ORIGIN_ENV: self.origin.isoformat()}

    def wait_until(self, instant: datetime, *, timeout: float = 120.0) -> None:
        """Sleep (real time) until the timeline shows ``instant``."""
        wait_for(lambda: self.now() >= instant or None, timeout=timeout,
                 what=f"the timeline to reach {instant.isoformat()}", poll=0.01)

    def __repr__(self) -> str:
        return f"Timeline(start={self.start}, speed={self.speed}, origin={self.origin})"


def held(start: datetime, *, speed: float, lead: float = LEAD) -> Timeline:
    """A timeline that stays at ``start`` until released, then ``lead`` real seconds
    more, then runs."""
    return Timeline(start, speed, lead=lead)


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str,
             poll: float = 0.05) -> T:
    """Poll ``probe`` until it returns something other than None or False."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def config(workdir: Path, *, database: str, kubeconfig: Path, policies: Path,
           prometheus: str, http_port: int, **extra: Any) -> dict[str, Any]:
    """A child's settings: a fast tick, verification that never times out in sped-up
    time, probes on a free local port; ``extra`` sections override."""
    base: dict[str, Any] = {
        "database": database, "kubeconfig": str(kubeconfig), "policies": [str(policies)],
        "tick": "1s",
        "prometheus": {"url": prometheus, "timeout": "3s",
                       "signals": {"requests": "knative", "gpu": "dcgm"}},
        "executor": {"strategy": "auto", "verifyTimeout": "30d"},
        "leaderElection": {"enabled": False},
        "http": {"host": "127.0.0.1", "port": http_port},
    }
    return base | extra


class Child:
    """One `reclaimer run` process."""

    def __init__(self, workdir: Path, settings: Mapping[str, Any], timeline: Timeline, *,
                 identity: str) -> None:
        self.identity = identity
        self.hung = False
        self.stop_seconds = 0.0
        self.port = int(settings["http"]["port"])
        self.config_path = workdir / f"config-{identity}.yaml"
        self.config_path.write_text(yaml.safe_dump(dict(settings)))
        self.log_path = workdir / f"log-{identity}.jsonl"
        env = {**os.environ, **timeline.env(), "PYTHONPATH": str(REPO)}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "reclaimer", "run", "--config", str(self.config_path),
                 "--identity", identity], stdout=log, stderr=subprocess.STDOUT, env=env,
                cwd=workdir)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> tuple[int, str] | None:
        try:
            with urllib.request.urlopen(self.url(path), timeout=2) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read().decode()
        except OSError:
            return None

    def wait_ticking(self, *, timeout: float = 60.0) -> datetime:
        """Until the first tick finished (/metrics shows it), or fail with the log.

        Returns the simulated instant of the tick seen: at thousands of times real
        speed, a fraction of a real second between that tick and the caller's next
        look at the timeline (a loaded host) can be hours, so "was it up before the
        edge" is asked of the tick, not of the timeline afterwards."""
        def ticked() -> float | None:
            self.check_alive()
            stamp = self.metric("reclaimer_last_successful_tick_timestamp_seconds")
            return stamp if stamp > 0 else None
        stamp = wait_for(ticked, timeout=timeout, what=f"{self.identity}'s first tick")
        return datetime.fromtimestamp(stamp, UTC)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.identity} exited with {self.proc.returncode}:\n"
                                 f"{self.log_text()[-3000:]}")

    def metrics(self) -> dict[str, float]:
        """Every sample on /metrics as ``name{label="v",...}`` -> value ({} if down)."""
        got = self.get("/metrics")
        if got is None or got[0] != 200:
            return {}
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(got[1]):
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return out

    def metric(self, name: str) -> float:
        return self.metrics().get(name, 0.0)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.log_text().splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
        return lines

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a node dies."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM, then wait; SIGKILL if it does not exit in time (``hung`` says so)."""
        if self.proc.poll() is None:
            began = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.hung = True
                self.kill()
            self.stop_seconds = time.monotonic() - began
        return int(self.proc.returncode)


@dataclass
class Children:
    """Starts children and stops every one at the end of the test."""

    workdir: Path
    started: list[Child] = field(default_factory=list)

    def start(self, settings: Mapping[str, Any], timeline: Timeline, *,
              identity: str = "r1") -> Child:
        child = Child(self.workdir, settings, timeline, identity=identity)
        self.started.append(child)
        return child

    def stop_all(self) -> None:
        for child in self.started:
            child.stop()


def children(workdir: Path) -> Iterator[Children]:
    group = Children(workdir)
    try:
        yield group
    finally:
        group.stop_all()


def http_port() -> int:
    return free_port()


def history(database: str) -> list[TransitionRecord]:
    """Every ledger row, oldest first."""
    ledger = open_ledger(database)
    try:
        return sorted(ledger.history(), key=lambda r: r.id)
    finally:
        ledger.close()


def upgrade(database: str) -> None:
    subprocess.run([sys.executable, "-m", "reclaimer", "db", "upgrade", "--db", database],
                   check=True, capture_output=True, cwd=REPO, timeout=60)


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0,
           second: int = 0) -> datetime:
    """A Europe/Berlin wall time as an aware UTC instant."""
    return datetime(year, month, day, hour, minute, second,
                    tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


def within(instant: datetime, target: datetime, slack: timedelta) -> bool:
    return abs(instant - target) <= slack


def edge_of(record: TransitionRecord) -> datetime | None:
    """The edge instant in a record's key (``policy|uid|instant|action``)."""
    key = record.transition.edge_key or str(record.transition.evidence.get("edgeKey") or "")
    parts = key.split("|")
    return datetime.fromisoformat(parts[2]) if len(parts) == 4 else None
