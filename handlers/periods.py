"""Periods typed after a report command: `30d`, `2w`, `12h`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from handlers.common import tell
from models.sla_policy import parse_duration
from services.errors import InvalidInput
from services.mrkdwn import user_text

DEFAULT_PERIOD = timedelta(days=30)
# Far enough back for any report; further would run off the calendar.
LONGEST_PERIOD = timedelta(days=3660)
# ASCII digits (\d also matches other scripts' digits, which int() may refuse).
_PERIOD = re.compile(r"^([0-9]+)\s*[dwh]$", re.IGNORECASE)
# More digits than any period within LONGEST_PERIOD has, even in hours.
_PERIOD_DIGITS = 6


def read_period(word: str, *, what: str, examples: str) -> timedelta | None:
    """The period `word` names, or None when it does not look like one (it may be a service's
    name). InvalidInput, in words for `what` the report covers ("Reports"), when it looks like
    a period but is none or is longer than ten years; `examples` show what would do."""
    matched = _PERIOD.match(word)
    if not matched:
        return None
    too_long = InvalidInput(f"{what} cover at most ten years; try `365d`.")
    if len(matched.group(1)) > _PERIOD_DIGITS:
        raise too_long
    try:
        period = parse_duration(word)
    except ValueError as error:
        raise InvalidInput(f"{user_text(error)}. Periods look like {examples}.") from None
    if period > LONGEST_PERIOD:
        raise too_long
    return period


def split_period(words: Sequence[str], *, what: str, examples: str) -> tuple[timedelta, list[str]]:
    """The period typed among `words` (the last, when several; DEFAULT_PERIOD when none) and
    the other words in the order typed. InvalidInput as `read_period` says."""
    period, rest = DEFAULT_PERIOD, []
    for word in words:
        typed = read_period(word, what=what, examples=examples)
        if typed is None:
            rest.append(word)
        else:
            period = typed
    return period, rest


def split_period_or_tell(
    respond: Callable[..., Any] | None, words: Sequence[str], *, what: str, examples: str
) -> tuple[timedelta, list[str]] | None:
    """`split_period`, for a report command: a period it refuses is told to the person who
    typed it, and None says there is nothing more to answer."""
    try:
        return split_period(words, what=what, examples=examples)
    except InvalidInput as error:
        tell(respond, str(error))
        return None
