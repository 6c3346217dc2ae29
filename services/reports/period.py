"""The period a report covers: a calendar month (the default), a week, or any from/to range,
and the period before it that every figure is compared with. Months and weeks are in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from services.errors import InvalidInput

PERIOD_HELP = (
    "Periods look like `2026-10` (a month), `last month` (the default), `this month`, "
    "`last week`, `this week`, or `2026-10-01..2026-10-15` (from and to, both days included)."
)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/|\s+to\s+)\s*(\d{4}-\d{2}-\d{2})$")
# Further back than this a report is surely a typo (and would scan the whole store).
MAX_DAYS = 3660


@dataclass(frozen=True)
class Period:
    """[start, end): `end` is exclusive. `kind` is "month", "week" or "range"."""

    start: datetime
    end: datetime
    kind: str

    @property
    def label(self) -> str:
        if self.kind == "month":
            return self.start.strftime("%B %Y")
        last = (self.end - timedelta(days=1)).date()
        if self.kind == "week":
            return f"week of {self.start.date().isoformat()}"
        return f"{self.start.date().isoformat()} to {last.isoformat()}"

    @property
    def slug(self) -> str:
        """A file-name friendly name: 2026-10, 2026-W44, 2026-10-01_2026-10-15."""
        if self.kind == "month":
            return self.start.strftime("%Y-%m")
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        last = (self.end - timedelta(days=1)).date()
        return f"{self.start.date().isoformat()}_{last.isoformat()}"

    def previous(self) -> Period:
        """The period just before: the month before, the week before, or a range as long."""
        if self.kind == "month":
            return month(self.start - timedelta(days=1))
        length = self.end - self.start
        return Period(start=self.start - length, end=self.start, kind=self.kind)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def month(when: datetime | date) -> Period:
    """The calendar month containing `when`."""
    first = date(when.year, when.month, 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return Period(start=_midnight(first), end=_midnight(following), kind="month")


def week(when: datetime | date) -> Period:
    """The Monday-to-Sunday week containing `when`."""
    day = when.date() if isinstance(when, datetime) else when
    monday = day - timedelta(days=day.weekday())
    return Period(start=_midnight(monday), end=_midnight(monday + timedelta(days=7)), kind="week")


def last_month(now: datetime) -> Period:
    return month(now).previous()


def last_week(now: datetime) -> Period:
    return week(now - timedelta(days=7))


def parse_period(text: str | None, *, now: datetime) -> Period:
    """Read a period as people write it; the default (empty) is last month."""
    cleaned = " ".join((text or "").lower().split())
    if cleaned in ("", "last month", "last-month"):
        return last_month(now)
    if cleaned in ("this month", "this-month"):
        return month(now)
    if cleaned in ("last week", "last-week"):
        return last_week(now)
    if cleaned in ("this week", "this-week"):
        return week(now)
    found = _MONTH.match(cleaned)
    if found:
        year, number = int(found.group(1)), int(found.group(2))
        if not 1 <= number <= 12:
            raise InvalidInput(f"`{text}` has no month {number}. {PERIOD_HELP}")
        return month(date(year, number, 1))
    found = _RANGE.match(cleaned)
    if found:
        try:
            first, last = (date.fromisoformat(found.group(i)) for i in (1, 2))
        except ValueError:
            raise InvalidInput(f"`{text}` is not a real date range. {PERIOD_HELP}") from None
        if last < first:
            raise InvalidInput(f"`{text}` ends before it starts. {PERIOD_HELP}")
        if (last - first).days > MAX_DAYS:
            raise InvalidInput("A report covers at most ten years.")
        return Period(start=_midnight(first), end=_midnight(last + timedelta(days=1)), kind="range")
    raise InvalidInput(f"`{text}` is not a period. {PERIOD_HELP}")


def looks_like_period(word: str) -> bool:
    """Whether a single word is meant as a period (the Slack command mixes scope and period)."""
    return bool(_MONTH.match(word) or _RANGE.match(word))
