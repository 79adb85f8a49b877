"""Issue 13 case 6 review: durations at the 366-day bound, and the grammar the CRD's
pattern admits (ASCII digits only), so a file and a CR accept the same spellings."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from reclaimer.errors import InvalidInput
from reclaimer.policy.durations import CRD_PATTERN, parse_duration


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("366d", timedelta(days=366), id="366d-is-the-bound"),
    pytest.param("8784h", timedelta(days=366), id="8784h-is-the-bound"),
    pytest.param("31622400s", timedelta(days=366), id="31622400s-is-the-bound"),
    pytest.param("0s", timedelta(0), id="zero"),
])
def test_case6_durations_up_to_366_days_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert re.fullmatch(CRD_PATTERN, text)


@pytest.mark.parametrize("text", [
    pytest.param("366d1s", id="one-second-past-the-bound"),
    pytest.param("8784h1s", id="hours-one-second-past-the-bound"),
    pytest.param("99999999999d", id="overflowing"),
])
def test_case6_durations_past_366_days_are_rejected(text: str) -> None:
    with pytest.raises(InvalidInput, match="longer than the maximum"):
        parse_duration(text)


@pytest.mark.parametrize("text", [
    pytest.param("\u0663\u0660m", id="arabic-indic-digits"),
    pytest.param("\uff13\uff10m", id="fullwidth-digits"),
])
def test_case6_durations_take_ascii_digits_only_as_the_crd_does(text: str) -> None:
    assert not re.fullmatch(CRD_PATTERN, text)
    with pytest.raises(InvalidInput, match="is not a duration"):
        parse_duration(text)
