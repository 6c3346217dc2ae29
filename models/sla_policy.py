"""The SLA part of the admin's TOML policy file, validated.

Durations are written the way people write them ("15m", "4h", "1h30m", "3 days") and become
``timedelta`` values. For a target on the business-hours clock, a day is a *working* day: a
business-calendar duration of N days counts N times the length of the working day (8 hours for
09:00-17:00), a week counts as many working days as the calendar has in a week, and hours,
minutes and seconds are working hours, minutes and seconds. ``SlaPolicy.clock_target`` does
that conversion; on the 24x7 clock a day is simply 24 hours.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

# Every spelling maps to one canonical unit; the canonical units are the keys of _UNIT_SECONDS.
_UNIT_ALIASES: dict[str, str] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "w"),
}
_UNIT_SECONDS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
# What may stand between two parts: "1h 30m", "1h, 30m", "1 hour and 30 minutes".
_SEPARATOR = re.compile(r"[\s,]*(?:and)?[\s,]*")
_BARE_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_EXAMPLES = '"15m", "4h", "1h30m", "3d", "2w", "45 min", "1 day"'


def _duration_parts(text: str) -> dict[str, float]:
    """Split a written duration into amounts per canonical unit, refusing anything unclear."""
    cleaned = text.strip().lower()
    if not cleaned:
        raise ValueError(f"a duration is needed, for example {_EXAMPLES}")
    if _BARE_NUMBER.fullmatch(cleaned):
        raise ValueError(
            f"{text.strip()!r} has no unit; add one, for example {cleaned}m for minutes "
            f"or {cleaned}h for hours"
        )
    if cleaned.startswith("-"):
        raise ValueError(f"{text.strip()!r} is negative; a duration must be longer than zero")
    parts: dict[str, float] = {}
    position = 0
    for match in _PART.finditer(cleaned):
        gap = cleaned[position : match.start()]
        if _SEPARATOR.fullmatch(gap) is None or (position == 0 and gap.strip()):
            raise ValueError(f"could not read {text.strip()!r}; write it like {_EXAMPLES}")
        amount, word = match.groups()
        unit = _UNIT_ALIASES.get(word)
        if unit is None:
            raise ValueError(
                f"unknown unit {word!r} in {text.strip()!r}; use s, m, h, d or w "
                "(seconds, minutes, hours, days, weeks)"
            )
        if unit in parts:
            raise ValueError(f"{text.strip()!r} gives {word!r} twice; write each unit once")
        parts[unit] = float(amount)
        position = match.end()
    if not parts or cleaned[position:].strip():
        raise ValueError(f"could not read {text.strip()!r}; write it like {_EXAMPLES}")
    return parts


def parse_duration(text: str) -> timedelta:
    """Read a duration as people write it ("15m", "1h30m", "3 days") into a timedelta.

    A bare number is refused because "15" could mean minutes or hours; zero is refused
    because a target of no time at all is a mistake, not a policy.
    """
    parts = _duration_parts(text)
    total = sum(amount * _UNIT_SECONDS[unit] for unit, amount in parts.items())
    if total <= 0:
        raise ValueError(f"{text.strip()!r} is zero; a duration must be longer than zero")
    return timedelta(seconds=total)


def format_duration(td: timedelta) -> str:
    """Show a duration compactly for people ("1h 30m", "3d", "45s", "2d 4h", "-15m")."""
    seconds = round(td.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds == 0:
        return "0s"
    pieces = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            pieces.append(f"{amount}{unit}")
    return sign + " ".join(pieces)


class WrittenDuration(timedelta):
    """A duration read from text that remembers its weeks and days: on a business clock "3d"
    is three working days while "72h" is 72 working hours. It is a timedelta in every other
    respect (its value counts a day as 24 hours)."""

    written: str
    weeks: float
    days_written: float
    rest: timedelta

    def __new__(cls, text: str) -> WrittenDuration:
        value = parse_duration(text)
        duration = super().__new__(cls, seconds=value.total_seconds())
        duration.written = text
        duration.weeks, duration.days_written, duration.rest = _split_written(text, value)
        return duration

    def __reduce__(self) -> tuple[type[WrittenDuration], tuple[str]]:  # copy and pickle
        return WrittenDuration, (self.written,)


def written_parts(value: timedelta) -> tuple[float, float, timedelta]:
    """(weeks, days, the rest) as the duration was written; a timedelta given in code counts
    its whole days as days."""
    if isinstance(value, WrittenDuration):
        return value.weeks, value.days_written, value.rest
    return _split_written(None, value)


def on_calendar(value: timedelta, calendar: CalendarPolicy) -> timedelta:
    """The time a business clock on `calendar` counts for `value`: its days (as written, or
    the whole days of a plain timedelta) are working days, the rest counts as it is."""
    weeks, days, rest = written_parts(value)
    return calendar.working_day_length * (weeks * len(calendar.working_days) + days) + rest


def _to_duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError(f"{format_duration(value)} is not longer than zero")
        return value
    if isinstance(value, bool) or isinstance(value, int | float):
        # TOML hands over bare numbers as int/float; the unit is what people forget.
        raise ValueError(
            f'{value} has no unit; write it as a string with one, for example "{value}m"'
        )
    if isinstance(value, str):
        return WrittenDuration(value)
    raise ValueError(f"expected a duration such as {_EXAMPLES}, got {type(value).__name__}")


Duration = Annotated[timedelta, BeforeValidator(_to_duration)]

WEEKDAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _to_clock_time(value: Any) -> Any:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or re.fullmatch(r"\d{1,2}:\d{2}", value.strip()) is None:
        raise ValueError(f"{value!r} is not a time of day; write it as HH:MM, like 09:00")
    hours, minutes = (int(piece) for piece in value.strip().split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"{value!r} is not a time of day; hours go to 23 and minutes to 59")
    return time(hours, minutes)


ClockTime = Annotated[time, BeforeValidator(_to_clock_time)]

_WEEKDAY_SPELLINGS: dict[str, str] = {
    **{short: short for short in WEEKDAY_NAMES},
    **{
        long: long[:3]
        for long in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    },
}


class CalendarPolicy(BaseModel):
    """When the business-hours clock runs: the zone, the working week and the closed days."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "UTC"
    working_days: list[str] = Field(default_factory=lambda: list(WEEKDAY_NAMES[:5]))
    start: ClockTime = time(9, 0)
    end: ClockTime = time(17, 0)
    country: str | None = None
    subdivision: str | None = None
    closed_dates: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/London"
            ) from None
        return value

    @field_validator("working_days")
    @classmethod
    def _weekday_names(cls, value: list[str]) -> list[str]:
        days = set()
        for name in value:
            short = _WEEKDAY_SPELLINGS.get(name.strip().lower())
            if short is None:
                raise ValueError(
                    f"{name!r} is not a weekday; use mon, tue, wed, thu, fri, sat or sun"
                )
            days.add(short)
        if not days:
            raise ValueError("at least one working day is needed")
        return [day for day in WEEKDAY_NAMES if day in days]

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in holidays.list_supported_countries():
            raise ValueError(
                f"the holidays package does not know country {value!r}; "
                "use an ISO 3166 code such as GB, US or DE"
            )
        return code

    @model_validator(mode="after")
    def _coherent(self) -> CalendarPolicy:
        if self.start >= self.end:
            raise ValueError(
                f"the working day must start before it ends (start {self.start:%H:%M}, "
                f"end {self.end:%H:%M})"
            )
        if self.subdivision is not None:
            if self.country is None:
                raise ValueError(f"subdivision {self.subdivision!r} needs a country as well")
            try:
                holidays.country_holidays(self.country, subdiv=self.subdivision)
            except NotImplementedError:
                known = ", ".join(holidays.list_supported_countries()[self.country]) or "none"
                raise ValueError(
                    f"{self.country} has no subdivision {self.subdivision!r}; known: {known}"
                ) from None
        return self

    @property
    def working_day_length(self) -> timedelta:
        """The nominal length of one working day, as a clock on the wall shows it."""
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)


Which = Literal["response", "resolution"]


class SlaTarget(BaseModel):
    """First-response and resolution targets for one priority, and which clock they run on."""

    model_config = ConfigDict(extra="forbid")

    response: Duration
    resolution: Duration
    calendar: Literal["24x7", "business"]

    @model_validator(mode="after")
    def _response_not_after_resolution(self) -> SlaTarget:
        # On the business clock the comparison needs the working-day length, so SlaPolicy
        # checks those once it knows its calendar.
        if self.calendar == "24x7" and self.response > self.resolution:
            raise ValueError(
                f"the response target ({format_duration(self.response)}) is longer than the "
                f"resolution target ({format_duration(self.resolution)})"
            )
        return self

    def counted(self, which: Which, calendar: CalendarPolicy) -> timedelta:
        """The time the clock must count for this target, days read as the clock defines them
        (the durations remember their units: on the business clock "3d" is three working days
        while "72h" is 72 working hours)."""
        value: timedelta = getattr(self, which)
        return value if self.calendar == "24x7" else on_calendar(value, calendar)


def _split_written(raw: Any, value: timedelta) -> tuple[float, float, timedelta]:
    """(weeks, days, the rest) as written; a timedelta given in code counts whole days as days."""
    if isinstance(raw, str):
        parts = _duration_parts(raw)
        weeks, days = parts.pop("w", 0.0), parts.pop("d", 0.0)
        rest = timedelta(seconds=sum(a * _UNIT_SECONDS[u] for u, a in parts.items()))
        return weeks, days, rest
    return 0.0, float(value.days), value - timedelta(days=value.days)


PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4", "P5")


def _default_targets() -> dict[str, SlaTarget]:
    written = {
        "P1": ("15m", "4h", "24x7"),
        "P2": ("1h", "8h", "24x7"),
        "P3": ("4h", "3d", "business"),
        "P4": ("1d", "5d", "business"),
        "P5": ("2d", "10d", "business"),
    }
    return {
        key: SlaTarget.model_validate({"response": r, "resolution": s, "calendar": c})
        for key, (r, s, c) in written.items()
    }


class SlaPolicy(BaseModel):
    """SLA targets per priority, the business calendar, and when to warn and remind.

    Priorities left out of the file keep the defaults from DOMAIN.md. For business-calendar
    targets a day is a working day (see the module docstring); ``clock_target`` gives the time
    the clock has to count.
    """

    model_config = ConfigDict(extra="forbid")

    targets: dict[str, SlaTarget] = Field(default_factory=_default_targets)
    calendar: CalendarPolicy = Field(default_factory=CalendarPolicy)
    warn_at: list[int] = Field(default_factory=lambda: [50, 75])
    breach_reminder_every: Duration = timedelta(hours=1)

    @field_validator("targets")
    @classmethod
    def _fill_priorities(cls, value: dict[str, SlaTarget]) -> dict[str, SlaTarget]:
        targets = _default_targets()
        for key, target in value.items():
            name = key.strip().upper()
            if name not in PRIORITIES:
                raise ValueError(f"unknown priority {key!r}; use P1 to P5")
            targets[name] = target
        return targets

    @field_validator("warn_at")
    @classmethod
    def _percentages(cls, value: list[int]) -> list[int]:
        for percent in value:
            if not 0 < percent < 100:
                raise ValueError(
                    f"warn_at {percent} must be a percentage between 1 and 99; "
                    "the breach at 100 % is always notified"
                )
        return sorted(set(value))

    @model_validator(mode="after")
    def _business_response_not_after_resolution(self) -> SlaPolicy:
        for key, target in self.targets.items():
            response = target.counted("response", self.calendar)
            resolution = target.counted("resolution", self.calendar)
            if response > resolution:
                raise ValueError(
                    f"{key}: the response target ({format_duration(response)} of counted time) "
                    f"is longer than the resolution target ({format_duration(resolution)})"
                )
        return self

    def target_for(self, priority: int) -> SlaTarget:
        """The targets for priority 1 (critical) to 5 (planning)."""
        if isinstance(priority, bool) or not 1 <= priority <= 5:
            raise ValueError(f"priority must be 1 to 5, got {priority!r}")
        return self.targets[f"P{priority}"]

    def clock_target(self, priority: int, which: Which) -> timedelta:
        """The time the SLA clock must count before the response or resolution target is used."""
        return self.target_for(priority).counted(which, self.calendar)
