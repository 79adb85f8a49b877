"""Suite-wide settings; each area keeps its fixtures in its own conftest."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import freezegun
import pytest

from reclaimer.kube.cache import WatchThread
from tests.fixtures.xdist_groups import make_scheduler

# freezegun scans loaded modules and trips kubernetes' lazy imports (tooling.md §1).
freezegun.configure(extend_ignore_list=["kubernetes"])

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.postgres",
    "tests.fixtures.ledger_store",
    "tests.fixtures.prometheus",
    "tests.fixtures.webhook",
]


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Tests grouped per worker as tests/fixtures/xdist_groups.py says (``make test``)."""
    return make_scheduler(config, log)


def _watching() -> set[WatchThread]:
    """Watch threads still asked to watch (a stopped one may finish its last long poll)."""
    return {t for t in threading.enumerate()
            if isinstance(t, WatchThread) and not t.stopping.is_set()}


@pytest.fixture(autouse=True)
def no_watch_left_running() -> Iterator[None]:
    """A test that starts a watch must stop it: a leaked one keeps polling a server long
    gone, prints its failures into later tests and holds a connection each."""
    before = _watching()
    yield
    leaked = _watching() - before
    for thread in leaked:
        thread.stopping.set()
    if leaked:
        pytest.fail(f"watch threads left running: {sorted(t.name for t in leaked)}",
                    pytrace=False)
