"""Somebody else's change of the stop state is booked once, and only by a replica that may
write (DESIGN §7). A leader whose lease lapsed mid-tick, or a process told to stop,
booked it anyway, and its successor booked it again: two ``observed`` rows for one fact,
GPU-hours and who stopped it counted twice. A change a fenced tick did not book is booked
by the next tick that may write; two replicas whose ticks overlap book it once (the
ledger's external claim). Sandbox over HTTP, real electors on the sandbox Lease, a real
ledger (SQLite, PostgreSQL 15).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.kserve import STOP_ANNOTATION
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.rest import ISVC, Rest
from reclaimer.ledger import Ledger, SqlLedger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.records import TransitionRecord
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import Action, Transition, Trigger
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import OFFICE_HOURS, LoopWorld, build, quiet, scenario
from tests.service.test_blocked_fencing import Fenced, _sigterm, lease_lapses, led_by_elector
from tests.service.test_mid_term_recovery import BEGIN, LLAMA

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
Booked = list[tuple[Action, datetime, str]]


def _person_stops(world: LoopWorld) -> None:
    """``kubectl annotate isvc llama serving.kserve.io/stop=true``."""
    person = Rest(api_client_for_host(world.sandbox.url), field_manager="kubectl")
    person.merge_patch(ISVC, LLAMA.namespace, LLAMA.name,
                       {"metadata": {"annotations": {STOP_ANNOTATION: "true"}}})
    world.sandbox.wait_idle(terminations=True)


def _booked(ledger: Ledger) -> Booked:
    return [(r.transition.action, r.transition.at, r.actor) for r in reversed(ledger.history())
            if r.transition.trigger is Trigger.EXTERNAL]


@pytest.fixture
def fenced(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Fenced]:
    """llama running under office hours, ticked once by its leader; then a person stops it."""
    found = led_by_elector(make_sandbox, tmp_path, store)
    _person_stops(found.led.world)
    yield found
    found.led.world.close()


@pytest.mark.parametrize("fence", [pytest.param(lease_lapses, id="lease-lapsed"),
                                   pytest.param(_sigterm, id="sigterm")])
def test_a_tick_that_may_not_write_books_no_external_change(
        fenced: Fenced, fence: Callable[[Fenced], None]) -> None:
    fence(fenced)
    fenced.led.tick(BEGIN + timedelta(minutes=1))
    assert _booked(fenced.led.world.ledger) == []


def test_the_change_is_booked_once_by_the_next_tick_that_may_write(fenced: Fenced) -> None:
    lease_lapses(fenced)
    fenced.led.tick(BEGIN + timedelta(minutes=1))
    for minutes in (2, 3):
        fenced.tick(BEGIN + timedelta(minutes=minutes))
    assert _booked(fenced.led.world.ledger) == [
        (Action.STOP, BEGIN + timedelta(minutes=2), "kubectl")]


class Overlapped(SqlLedger):
    """A replica's ledger whose tick the other replica's whole tick overlaps: it runs
    ``meanwhile`` once, after this replica found the change and before it books it
    (both passed their lease guard: the window the external claim closes)."""

    meanwhile: Callable[[], object] | None = None

    def record_external(self, transition: Transition, **kwargs: Any) -> TransitionRecord | None:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return super().record_external(transition, **kwargs)


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres-15")])
def two_ledgers(request: pytest.FixtureRequest,
                tmp_path: Path) -> Iterator[tuple[Overlapped, SqlLedger]]:
    """Two replicas' ledgers on one migrated database."""
    url = (f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    upgrade(parse_url(url))
    first, second = Overlapped.open(url), SqlLedger.open(url)
    yield first, second
    first.close()
    second.close()


def test_two_replicas_whose_ticks_overlap_book_one_change_once(
        make_sandbox: MakeSandbox, tmp_path: Path,
        two_ledgers: tuple[Overlapped, SqlLedger]) -> None:
    first, second = two_ledgers
    sandbox = make_sandbox(scenario(("team-a", "llama", {"tier": "dev"})))
    worlds = []
    for name, ledger in (("a", first), ("b", second)):
        (tmp_path / name).mkdir()
        worlds.append(build(sandbox, tmp_path / name, ledger=ledger, scripts={LLAMA: quiet()},
                            policies={"office": OFFICE_HOURS % {"busy": "force"}}))
    a, b = worlds
    overlap = BEGIN + timedelta(minutes=1, seconds=5)
    try:
        a.tick(BEGIN)
        _person_stops(a)
        first.meanwhile = lambda: b.tick(overlap)
        a.tick(BEGIN + timedelta(minutes=1))
        for world, minutes in ((a, 2), (b, 3)):
            world.tick(BEGIN + timedelta(minutes=minutes))
    finally:
        a.close()
        b.close()
    assert _booked(first) == [(Action.STOP, overlap, "kubectl")]
