"""The SLA clock: how much counted time has passed, and when a target will be used up.

Pure functions over aware UTC datetimes; no Slack, no database. Two calendars decide what
counts: ``TwentyFourSeven`` counts every second, ``BusinessCalendar`` only working hours in its
own time zone, skipping weekends, public holidays and closed dates. Pauses (an incident On hold)
stop the clock for the working time they cover.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

import holidays

from models.sla_policy import WEEKDAY_NAMES, CalendarPolicy

Pause = tuple[datetime, datetime | None]
"""(start, end) of a pause; end None means the clock is still paused."""

# A calendar with every working day closed would never reach a deadline; give up after this
# many days rather than loop for ever.
_SEARCH_LIMIT_DAYS = 366 * 10


class WorkCalendar(Protocol):
    """What the clock needs from a calendar; both calendars below provide it."""

    def is_working_time(self, t: datetime) -> bool:
        """Whether the clock runs at instant t."""
        ...

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Counted seconds in [a, b]."""
        ...

    def add_working_time(self, start: datetime, seconds: float) -> datetime:
        """The instant at which ``seconds`` of counted time have passed since start."""
        ...


def _require_aware(*instants: datetime) -> None:
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("the SLA clock works on timezone-aware datetimes; got a naive one")


class TwentyFourSeven:
    """The clock that never stops (P1 and P2 by default)."""

    def is_working_time(self, t: datetime) -> bool:
        """Always true."""
        _require_aware(t)
        return True

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Elapsed seconds from a to b, zero if b is not after a."""
        _require_aware(a, b)
        return max(0.0, (b - a).total_seconds())

    def add_working_time(self, start: datetime, seconds: float) -> datetime:
        """start plus the given seconds, in UTC."""
        _require_aware(start)
        return start.astimezone(UTC) + timedelta(seconds=seconds)


class BusinessCalendar:
    """Working hours on working days in one time zone, without holidays and closed dates.

    Opening and closing are wall-clock times in the calendar's zone, so on a DST change the
    working day still opens at 09:00 local time; counted seconds are real seconds.
    """

    def __init__(
        self,
        *,
        timezone: ZoneInfo,
        working_weekdays: Iterable[int],
        opens: time,
        closes: time,
        holiday_dates: holidays.HolidayBase | None = None,
        closed_dates: Iterable[date] = (),
    ) -> None:
        if opens >= closes:
            raise ValueError("a working day must open before it closes")
        self.timezone = timezone
        self.working_weekdays = frozenset(working_weekdays)
        self.opens = opens
        self.closes = closes
        self._holidays = holiday_dates
        self.closed_dates = frozenset(closed_dates)

    @classmethod
    def from_policy(cls, policy: CalendarPolicy) -> BusinessCalendar:
        """Build the calendar the admin's policy describes, public holidays included."""
        public = (
            holidays.country_holidays(policy.country, subdiv=policy.subdivision)
            if policy.country
            else None
        )
        return cls(
            timezone=ZoneInfo(policy.timezone),
            working_weekdays=(WEEKDAY_NAMES.index(day) for day in policy.working_days),
            opens=policy.start,
            closes=policy.end,
            holiday_dates=public,
            closed_dates=policy.closed_dates,
        )

    def is_working_day(self, day: date) -> bool:
        """Whether the local date is a working day (weekday, no holiday, not closed)."""
        if day.weekday() not in self.working_weekdays or day in self.closed_dates:
            return False
        # The holidays object fills in each year the first time it is asked about it.
        return self._holidays is None or day not in self._holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        # Subtracting two datetimes that share a ZoneInfo ignores their offsets, so the window
        # is handed out in UTC, where subtraction gives real elapsed time across DST changes.
        opens = datetime.combine(day, self.opens, tzinfo=self.timezone).astimezone(UTC)
        closes = datetime.combine(day, self.closes, tzinfo=self.timezone).astimezone(UTC)
        return opens, closes

    def _working_windows(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = start.astimezone(self.timezone).date()
        for _ in range(_SEARCH_LIMIT_DAYS):
            if self.is_working_day(day):
                yield self._window(day)
            day += timedelta(days=1)
        raise ValueError(
            f"no working time found within {_SEARCH_LIMIT_DAYS} days; check the calendar"
        )

    def is_working_time(self, t: datetime) -> bool:
        """Whether instant t falls inside working hours on a working day."""
        _require_aware(t)
        local = t.astimezone(self.timezone)
        if not self.is_working_day(local.date()):
            return False
        opens, closes = self._window(local.date())
        return opens <= t.astimezone(UTC) < closes

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Working seconds in [a, b]; one step per calendar day, so a year takes 366 steps."""
        _require_aware(a, b)
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        if b <= a:
            return 0.0
        total = 0.0
        day = a.astimezone(self.timezone).date()
        last = b.astimezone(self.timezone).date()
        while day <= last:
            if self.is_working_day(day):
                opens, closes = self._window(day)
                overlap = (min(closes, b) - max(opens, a)).total_seconds()
                if overlap > 0:
                    total += overlap
            day += timedelta(days=1)
        return total

    def add_working_time(self, start: datetime, seconds: float) -> datetime:
        """The instant at which ``seconds`` of working time have passed since start.

        Outside working hours the clock starts at the next opening, so adding zero seconds
        gives that opening.
        """
        _require_aware(start)
        start = start.astimezone(UTC)
        remaining = max(0.0, seconds)
        for opens, closes in self._working_windows(start):
            begin = max(opens, start)
            if begin >= closes:
                continue
            available = (closes - begin).total_seconds()
            if remaining < available or (remaining == available and remaining > 0):
                return begin + timedelta(seconds=remaining)
            remaining -= available
        raise AssertionError("unreachable: _working_windows raises when it runs out")


def calendar_for(kind: Literal["24x7", "business"], business: BusinessCalendar) -> WorkCalendar:
    """The calendar an SLA target's ``calendar`` field names."""
    return TwentyFourSeven() if kind == "24x7" else business


def _merged_pauses(
    pauses: Sequence[Pause], *, not_before: datetime, open_until: datetime | None
) -> list[tuple[datetime, datetime | None]]:
    """Pauses sorted, overlaps joined (so no time is taken off twice), cut to start no earlier
    than ``not_before``; open pauses end at ``open_until`` when it is given."""
    spans: list[tuple[datetime, datetime | None]] = []
    for begin, end in pauses:
        _require_aware(begin, *(() if end is None else (end,)))
        begin = max(begin.astimezone(UTC), not_before)
        end = open_until if end is None else end.astimezone(UTC)
        if end is not None and end <= begin:
            continue
        spans.append((begin, end))
    spans.sort(key=lambda span: span[0])
    merged: list[tuple[datetime, datetime | None]] = []
    for begin, end in spans:
        if merged:
            last_begin, last_end = merged[-1]
            if last_end is None:
                break  # an open pause swallows everything after it
            if begin <= last_end:
                merged[-1] = (last_begin, None if end is None else max(last_end, end))
                continue
        merged.append((begin, end))
    return merged


def elapsed(
    *,
    start: datetime,
    now: datetime,
    calendar: WorkCalendar,
    pauses: Sequence[Pause] = (),
    stopped_at: datetime | None = None,
) -> float:
    """Counted seconds from start to min(now, stopped_at), less the working time paused."""
    _require_aware(start, now, *(() if stopped_at is None else (stopped_at,)))
    start = start.astimezone(UTC)
    end = now.astimezone(UTC)
    if stopped_at is not None:
        end = min(end, stopped_at.astimezone(UTC))
    if end <= start:
        return 0.0
    total = calendar.working_seconds_between(start, end)
    for begin, finish in _merged_pauses(pauses, not_before=start, open_until=end):
        assert finish is not None  # open_until closes every open pause
        if begin < end:
            total -= calendar.working_seconds_between(begin, min(finish, end))
    return max(0.0, total)


def _instant_when_used(
    *,
    start: datetime,
    seconds: float,
    calendar: WorkCalendar,
    pauses: Sequence[Pause],
) -> datetime | None:
    """When ``seconds`` of counted time will have passed, or None behind an open pause."""
    _require_aware(start)
    cursor = start.astimezone(UTC)
    remaining = max(0.0, seconds)
    for begin, finish in _merged_pauses(pauses, not_before=cursor, open_until=None):
        if begin > cursor:
            available = calendar.working_seconds_between(cursor, begin)
            # Equal and zero means nothing counted before the pause: the instant lies after it.
            if remaining < available or (remaining == available and remaining > 0):
                return calendar.add_working_time(cursor, remaining)
            remaining -= available
        if finish is None:
            return None
        cursor = max(cursor, finish)
    return calendar.add_working_time(cursor, remaining)


def due_at(
    *,
    start: datetime,
    target: timedelta,
    calendar: WorkCalendar,
    pauses: Sequence[Pause] = (),
    now: datetime,
) -> datetime | None:
    """The instant the target will be used up, given the pauses so far.

    None while the clock is paused (an open pause that has begun by ``now``): nobody knows yet
    when the pause will end. ``evaluate`` still reports the remaining time then.
    """
    _require_aware(now)
    now = now.astimezone(UTC)
    known = [(b, e) for b, e in pauses if e is not None or b.astimezone(UTC) <= now]
    if any(e is None for _, e in known):
        return None
    return _instant_when_used(
        start=start, seconds=target.total_seconds(), calendar=calendar, pauses=known
    )


def threshold_instant(
    *,
    start: datetime,
    target: timedelta,
    calendar: WorkCalendar,
    pauses: Sequence[Pause] = (),
    percent: float,
) -> datetime | None:
    """When ``percent`` of the target will have been used (None while paused).

    The scheduler asks for 50, 75 and 100 and sets a reminder at each instant; after a pause it
    asks again, because a pause moves every threshold still ahead.
    """
    if percent < 0:
        raise ValueError(f"percent must not be negative, got {percent}")
    if any(end is None for _, end in pauses):
        return None
    return _instant_when_used(
        start=start,
        seconds=target.total_seconds() * percent / 100,
        calendar=calendar,
        pauses=pauses,
    )


@dataclass(frozen=True)
class SlaState:
    """Where one SLA target stands at a given moment."""

    target: timedelta
    due_at: datetime | None
    elapsed: timedelta
    remaining: timedelta
    percent_used: float
    paused: bool
    stopped: bool
    met: bool | None
    breached: bool


def evaluate(
    *,
    start: datetime,
    target: timedelta,
    calendar: WorkCalendar,
    pauses: Sequence[Pause] = (),
    now: datetime,
    stopped_at: datetime | None = None,
) -> SlaState:
    """The state of one target at ``now``; ``stopped_at`` is when it was met (or stopped).

    Once stopped, ``due_at`` is the deadline that applied, with pauses counted up to the stop.
    """
    _require_aware(start, now, *(() if stopped_at is None else (stopped_at,)))
    if target <= timedelta(0):
        raise ValueError("an SLA target must be longer than zero")
    now = now.astimezone(UTC)
    stopped = stopped_at is not None and stopped_at.astimezone(UTC) <= now
    counted = elapsed(start=start, now=now, calendar=calendar, pauses=pauses, stopped_at=stopped_at)
    if stopped:
        assert stopped_at is not None
        stop = stopped_at.astimezone(UTC)
        # Pauses still running at the stop end there: what came after did not set the deadline.
        before_stop: list[Pause] = [
            (b, stop if e is None else min(e.astimezone(UTC), stop))
            for b, e in pauses
            if b.astimezone(UTC) < stop
        ]
        deadline = _instant_when_used(
            start=start, seconds=target.total_seconds(), calendar=calendar, pauses=before_stop
        )
        paused = False
    else:
        deadline = due_at(start=start, target=target, calendar=calendar, pauses=pauses, now=now)
        paused = any(
            b.astimezone(UTC) <= now and (e is None or e.astimezone(UTC) > now) for b, e in pauses
        )
    target_seconds = target.total_seconds()
    return SlaState(
        target=target,
        due_at=deadline,
        elapsed=timedelta(seconds=counted),
        remaining=timedelta(seconds=target_seconds - counted),
        percent_used=100.0 * counted / target_seconds,
        paused=paused,
        stopped=stopped,
        met=(counted <= target_seconds) if stopped else None,
        breached=counted > target_seconds,
    )
