"""A LIST read in pages, each item dropped before the next when nobody keeps it.

A tick's verification lists every ISVC of the cluster (10,000 at the scale of
benchmarks/RESULTS.md) to find the few it awaits or holds: read whole, that was the
LIST's 10-20 MB of text and every decoded ISVC alive at once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.ports import Obj
from reclaimer.kube.rest import ISVC, Rest
from reclaimer.model import ServiceRef
from tests.kube.conftest import NS, MakeRest, isvc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]
NAMES = ("a", "b", "c", "d", "e")


class _Holding(Rest):
    """The real adapter, noting, each time its consumer asks for the next LIST item,
    how many of the items it gave before somebody else still holds."""

    def __init__(self, api: Any, *, page_size: int) -> None:
        super().__init__(api, page_size=page_size)
        self.most_held = 0

    def list_items(self, kind: Any, *, namespace: str | None = None,
                   label_selector: str | None = None) -> Iterator[Obj]:
        given: list[Obj] = []
        for item in super().list_items(kind, namespace=namespace, label_selector=label_selector):
            # Three references to an item nobody else holds: ``given``, the loop's
            # ``o`` and getrefcount's argument.
            self.most_held = max(self.most_held,
                                 sum(1 for o in given if sys.getrefcount(o) > 3))
            given.append(item)
            yield item


def _world(make_rest: MakeRest, *, page_size: int) -> tuple[Any, _Holding]:
    handle, rest = make_rest({"inferenceServices": [isvc(n) for n in NAMES]})
    handle.wait_idle()
    return handle, _Holding(rest.api_client, page_size=page_size)


def test_verification_keeps_no_isvc_it_does_not_want(make_rest: MakeRest) -> None:
    """The consumer's loop variable holds the item before while the next is decoded;
    nothing holds the ones before that (collected in a list first, all four were)."""
    _, rest = _world(make_rest, page_size=500)
    found = KubeCluster(rest).list_isvcs({ServiceRef(NS, "e")})
    assert ([o["metadata"]["name"] for o in found], rest.most_held) == (["e"], 1)


def test_a_list_is_read_in_pages_of_the_page_size(make_rest: MakeRest) -> None:
    handle, rest = _world(make_rest, page_size=2)
    handle.request_log.clear()
    found = KubeCluster(rest).list_isvcs()
    lists = handle.request_log.entries(verb="list", resource=ISVC.plural)
    assert (sorted(o["metadata"]["name"] for o in found), len(lists)) == (list(NAMES), 3)


def test_only_the_isvcs_kept_are_interned(make_rest: MakeRest,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Verifying one ISVC of five interns the texts of one trimmed ISVC, a fifth of
    what keeping all five does: the items dropped are not interned (a hook on every
    decoded object was 1.2 million Python calls a tick at 50,000 ISVCs). Before, both
    interned every text of all five whole ISVCs."""
    _, rest = _world(make_rest, page_size=500)
    texts: list[str] = []
    real = sys.intern

    def counting(text: str) -> str:
        texts.append(text)
        return real(text)

    monkeypatch.setattr(sys, "intern", counting)
    one = KubeCluster(rest).list_isvcs({ServiceRef(NS, "e")})
    for_one = len(texts)
    every = KubeCluster(rest).list_isvcs()
    monkeypatch.undo()
    assert (len(one), len(every), for_one > 0) == (1, 5, True)
    assert len(texts) - for_one == 5 * for_one
