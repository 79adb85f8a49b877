"""The real parts one e2e scenario runs against: sandbox, Prometheus, SQLite, policies.

`stage(...)` starts them on the scenario's `Timeline` and yields a `Stage`; children
started through ``stage.children`` are stopped first at the end, then the sandbox (a
simulator error fails the scenario), then Prometheus.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kubesandbox import types
from kubesandbox.world import World
from reclaimer.kube.isvc import STOP_ANNOTATION, stop_change
from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import ServiceRef
from reclaimer.signals.scripted import Script
from tests.e2e.harness import (
    REPO,
    Child,
    Children,
    Timeline,
    config,
    history,
    http_port,
    upgrade,
)
from tests.fixtures.prometheus import OpenMetrics, free_port, running_prometheus
from tests.signals.render import Style, render


@dataclass
class Stage:
    workdir: Path
    timeline: Timeline
    world: World
    database: str
    kubeconfig: Path
    policies: Path
    prometheus_url: str
    children: Children
    _prometheus: ExitStack

    def settings(self, **extra: Any) -> dict[str, Any]:
        return config(self.workdir, database=self.database, kubeconfig=self.kubeconfig,
                      policies=self.policies, prometheus=self.prometheus_url,
                      http_port=http_port(), **extra)

    def start(self, *, identity: str = "r1", **extra: Any) -> Child:
        return self.children.start(self.settings(**extra), self.timeline, identity=identity)

    def env(self) -> dict[str, str]:
        """The environment of a CLI call that should live on this stage's timeline."""
        return {**os.environ, **self.timeline.env(), "PYTHONPATH": str(REPO)}

    def kill_prometheus(self) -> None:
        self._prometheus.close()

    def isvc(self, ref: ServiceRef) -> dict[str, Any]:
        return self.world.store.get(types.INFERENCESERVICES, ref.namespace, ref.name)

    def stop_annotation(self, ref: ServiceRef) -> str | None:
        value = (self.isvc(ref)["metadata"].get("annotations") or {}).get(STOP_ANNOTATION)
        return None if value is None else str(value)

    def stop_owner(self, ref: ServiceRef) -> tuple[datetime | None, str | None]:
        return stop_change(self.isvc(ref)["metadata"].get("managedFields"))

    def history(self) -> list[TransitionRecord]:
        return history(self.database)

    def rows(self, ref: ServiceRef) -> list[TransitionRecord]:
        return [r for r in self.history() if r.transition.ref == ref]

    def diagnosis(self) -> str:
        """What a failed scenario needs to be understood: the ledger and each child."""
        lines = [f"timeline now: {self.timeline.now().isoformat()}", "ledger:"]
        lines += [f"  {t.ref} {t.action.value} {t.trigger.value} {t.reason.value} "
                  f"at={t.at.isoformat()} blocked={t.blocked}"
                  for t in (r.transition for r in self.history())]
        for child in self.children.started:
            tail = child.log_text().splitlines()[-15:]
            lines += [f"child {child.identity} (exit {child.proc.poll()}):", *tail]
        return "\n".join(lines)


def prometheus_data(scripts: Mapping[ServiceRef, Script], *, start: datetime,
                    end: datetime) -> OpenMetrics:
    """The series real exporters would have written for ``scripts`` (knative + dcgm)."""
    data = OpenMetrics()
    for ref, script in scripts.items():
        render(data, ref, script, Style(), start=start, end=end,
               every=timedelta(seconds=30))
    return data


def scenario(*services: tuple[ServiceRef, Mapping[str, str]],
             kserve: str = "0.16") -> dict[str, Any]:
    """KServe 0.16 (native stop) unless told, Standard mode, one GPU each, pods stop at
    once."""
    return {"kserve": kserve, "podTerminationSeconds": 0,
            "namespaces": sorted({ref.namespace for ref, _ in services}),
            "inferenceServices": [{"namespace": ref.namespace, "name": ref.name, "gpus": 1,
                                   "mode": "Standard", "labels": dict(labels)}
                                  for ref, labels in services]}


@contextmanager
def stage(workdir: Path, template_db: Path, *, timeline: Timeline,
          services: Mapping[ServiceRef, Mapping[str, str]], policies: Mapping[str, str],
          metrics: OpenMetrics | None = None, kserve: str = "0.16",
          database: str | None = None) -> Iterator[Stage]:
    """Everything up; with ``metrics`` None the Prometheus URL answers nothing; with
    ``database`` (a migrated URL, e.g. PostgreSQL) instead of a copy of the template."""
    with ExitStack() as stack:
        prometheus = stack.enter_context(ExitStack())
        url = (prometheus.enter_context(running_prometheus(metrics, workdir / "prometheus"))
               if metrics is not None else f"http://127.0.0.1:{free_port()}")
        world = World.start(port=0, scenario=scenario(*services.items(), kserve=kserve),
                            clock=timeline.now)
        stack.callback(_stop_world, world)
        kubeconfig = workdir / "kubeconfig"
        kubeconfig.write_text(world.kubeconfig())
        sqlite = workdir / "ledger.db"
        shutil.copyfile(template_db, sqlite)
        policy_dir = workdir / "policies"
        policy_dir.mkdir()
        for name, text in policies.items():
            (policy_dir / name).write_text(text)
        group = Children(workdir)
        stack.callback(group.stop_all)
        ready = Stage(workdir=workdir, timeline=timeline, world=world,
                      database=database or f"sqlite:///{sqlite}", kubeconfig=kubeconfig,
                      policies=policy_dir, prometheus_url=url, children=group,
                      _prometheus=prometheus)
        timeline.release()
        try:
            yield ready
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{ready.diagnosis()}") from exc


def _stop_world(world: World) -> None:
    world.stop()
    if world.simulator.errors:
        raise AssertionError(f"the KServe simulator failed: {world.simulator.errors[:3]}")


def migrated_template(directory: Path) -> Path:
    """An empty ledger at the latest schema, made with `reclaimer db upgrade`."""
    path = directory / "template.db"
    upgrade(f"sqlite:///{path}")
    return path
