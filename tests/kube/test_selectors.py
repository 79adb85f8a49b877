"""Selectors naming the services a tick verifies (`kube.selectors.by_names`)."""

from __future__ import annotations

import pytest

from reclaimer.kserve import ISVC_LABEL, LLM_NAME_LABEL, LLM_PART_OF
from reclaimer.kube.selectors import CHUNK, MAX_CHUNKS, by_names

pytestmark = pytest.mark.timeout(10)
MANY = [f"m{i:04d}" for i in range(CHUNK * MAX_CHUNKS + 1)]


@pytest.mark.parametrize(("base", "owner", "names", "selectors"), [
    pytest.param(ISVC_LABEL, ISVC_LABEL, ["b", "a", "b"], [f"{ISVC_LABEL} in (a,b)"],
                 id="sorted-once"),
    pytest.param(LLM_PART_OF, LLM_NAME_LABEL, ["x"], [f"{LLM_PART_OF},{LLM_NAME_LABEL} in (x)"],
                 id="a-base-that-says-more-stays"),
    pytest.param(ISVC_LABEL, ISVC_LABEL, [], [], id="no-names-no-list"),
    pytest.param(ISVC_LABEL, ISVC_LABEL, ["a" * 64], [ISVC_LABEL],
                 id="a-name-too-long-for-a-label-lists-all"),
    pytest.param(ISVC_LABEL, ISVC_LABEL, ["a,b"], [ISVC_LABEL], id="no-label-value-lists-all"),
    pytest.param(ISVC_LABEL, ISVC_LABEL, MANY, [ISVC_LABEL], id="past-the-chunks-lists-all"),
])
def test_selectors(base: str, owner: str, names: list[str], selectors: list[str]) -> None:
    assert by_names(base, owner, names) == selectors


def test_one_selector_per_chunk_of_names() -> None:
    found = by_names(ISVC_LABEL, ISVC_LABEL, MANY[:CHUNK * 2 + 1])
    assert [s.count(",") + 1 for s in found] == [CHUNK, CHUNK, 1]
