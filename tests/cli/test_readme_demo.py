"""The README's demo sample is what `make demo` prints (issue 16, item 15).

The demo plays the last full week before its clock; the clock is pinned with the
documented test hook (``RECLAIMER_TEST_CLOCK_START``, read once for the week) so the
week is the README's, 23-30 November 2026, and every sample line can be compared as
printed. The demo itself is multi-threaded and runs for minutes, which rules out
freezing time inside it. ``...`` in the sample stands for lines left out; the rest must
appear in this order.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from reclaimer.cli import main
from reclaimer.clock import START_ENV

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

README = Path(__file__).resolve().parents[2] / "README.md"
INTRO = "For the week of 23 November 2026 it prints:"
# Any instant of the week after: the demo then plays Monday 23 to Monday 30 November.
CLOCK = "2026-12-02T12:00:00+00:00"


def readme_sample() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text.split(INTRO, 1)[1].split("```", 2)[1]
    return [line for line in block.splitlines() if line.strip() and line != "..."]


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(START_ENV, CLOCK)
        patch.chdir(tmp_path_factory.mktemp("readme-demo"))
        out = io.StringIO()
        with redirect_stdout(out):
            assert main(["demo"]) == 0
    return out.getvalue().splitlines()


def test_the_readme_sample_has_lines_to_compare() -> None:
    assert len(readme_sample()) > 30


def test_every_readme_sample_line_is_printed_in_order(printed: list[str]) -> None:
    rest = iter(printed)
    missing = [line for line in readme_sample() if line not in rest]
    assert missing == []
