"""Periods typed after `/servicedesk availability` and `/servicedesk csat` (handlers/periods.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.periods import read_period, split_period, split_period_or_tell
from services.errors import InvalidInput


@pytest.mark.parametrize(
    ("word", "period"),
    [("30d", timedelta(days=30)), ("2W", timedelta(days=14)), ("12h", timedelta(hours=12))],
)
def test_a_period_is_read_in_days_weeks_or_hours(word: str, period: timedelta) -> None:
    assert read_period(word, what="Reports", examples="`7d`") == period


@pytest.mark.parametrize("word", ["api", "d", "30", "１d", "30 days"])
def test_a_word_that_is_no_period_is_left_to_the_caller(word: str) -> None:
    assert read_period(word, what="Reports", examples="`7d`") is None


def test_ten_years_is_the_longest() -> None:
    assert read_period("3660d", what="Reports", examples="`7d`") == timedelta(days=3660)
    for word in ("3661d", "9999999d", "9" * 400 + "h"):
        with pytest.raises(InvalidInput, match="^Satisfaction figures cover at most ten years"):
            read_period(word, what="Satisfaction figures", examples="`7d`")


def test_a_zero_period_is_refused_with_the_examples() -> None:
    with pytest.raises(InvalidInput, match="longer than zero. Periods look like `7d` or `30d`.$"):
        read_period("0d", what="Reports", examples="`7d` or `30d`")


def test_the_period_is_taken_out_of_the_words_and_the_rest_kept_in_order() -> None:
    assert split_period(["api", "7d", "web"], what="Reports", examples="`7d`") == (
        timedelta(days=7),
        ["api", "web"],
    )
    # None typed: thirty days; two typed: the last one counts.
    assert split_period(["api"], what="Reports", examples="`7d`") == (timedelta(days=30), ["api"])
    assert split_period(["7d", "2w"], what="Reports", examples="`7d`")[0] == timedelta(days=14)
    with pytest.raises(InvalidInput, match="at most ten years"):
        split_period(["api", "4000d"], what="Reports", examples="`7d`")


def test_a_refused_period_is_told_privately_and_nothing_more_is_answered() -> None:
    told: list[dict] = []
    typed = split_period_or_tell(
        lambda **answer: told.append(answer), ["api", "0d"], what="Reports", examples="`7d`"
    )
    assert typed is None
    assert len(told) == 1 and told[0]["response_type"] == "ephemeral"
    assert told[0]["text"].endswith("Periods look like `7d`.")


def test_a_good_period_is_split_out_and_nobody_is_told_anything() -> None:
    told: list[dict] = []
    typed = split_period_or_tell(
        lambda **answer: told.append(answer), ["2w", "api"], what="Reports", examples="`7d`"
    )
    assert typed == (timedelta(days=14), ["api"]) and told == []
