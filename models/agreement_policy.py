"""Service level agreements in the policy file (`[[agreements]]`): who the agreement is with,
the services it covers, the targets that override the global SLA for them, the availability
it promises, and when it is reviewed.

Incident targets are written like `[sla.targets.P1]`; their `calendar` ("24x7" or
"business") may be left out, and then comes from the agreement's `calendar`, or failing that
from the global target of the same priority (services.agreements resolves it). The business
clock is the agreement's own `[agreements.service_hours]` (time zone, working days, opening
hours, public holidays, closed dates: the keys of `[sla.calendar]`) when it has them, else the
install's `[sla.calendar]`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from models.policy_types import Name, SlackRef, Strict
from models.sla_policy import (
    PRIORITIES,
    CalendarPolicy,
    Duration,
    SlaTarget,
    parse_duration,
    written_parts,
)

ClockName = Literal["24x7", "business"]

# Cadences people say instead of a duration; a month-based cadence moves by calendar months.
CADENCE_MONTHS: dict[str, int] = {
    "monthly": 1,
    "quarterly": 3,
    "half-yearly": 6,
    "yearly": 12,
    "annually": 12,
}
_CADENCE_EXAMPLES = '"quarterly", "monthly", "half-yearly", "yearly" or a duration like "90d"'


class AgreementTarget(SlaTarget):
    """One priority's response and resolution targets under an agreement. Without a calendar
    the agreement's (or the global target's) clock applies."""

    calendar: ClockName | None = None  # type: ignore[assignment]

    def written(self, which: Literal["response", "resolution"]) -> str:
        """The target as written, units kept: on the business clock "3d" and "72h" differ."""
        weeks, days, rest = written_parts(getattr(self, which))
        pieces = [f"{weeks:g}w" if weeks else "", f"{days:g}d" if days else ""]
        # Hours stay hours: "24h" is not "1d" on the business clock.
        seconds = round(rest.total_seconds())
        for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
            amount, seconds = divmod(seconds, size)
            pieces.append(f"{amount}{unit}" if amount else "")
        return " ".join(piece for piece in pieces if piece)


class RequestTargets(Strict):
    """Service-request targets under an agreement; an unset one keeps the catalog item's."""

    response: Duration | None = None
    fulfilment: Duration | None = None


def _cadence(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = value.strip().lower()
    if cleaned in CADENCE_MONTHS:
        return cleaned
    try:
        length = parse_duration(cleaned)
    except ValueError as error:
        raise ValueError(
            f"'{value}' is not a review cadence ({_CADENCE_EXAMPLES}): {error}"
        ) from None
    if length < timedelta(days=1):
        raise ValueError(f"'{value}' is shorter than a day; reviews are at least a day apart")
    return cleaned


def advance_review(day: date, cadence: str) -> date:
    """The review date one cadence after `day` (month cadences keep the day of the month,
    clamped to the month's last day)."""
    months = CADENCE_MONTHS.get(cadence)
    if months is None:
        return day + timedelta(days=max(1, parse_duration(cadence).days))
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


class Agreement(Strict):
    """One service level agreement with a customer."""

    name: Name
    customer: Annotated[str, Field(min_length=1, max_length=100)]
    services: list[Name] = Field(min_length=1)
    owner: SlackRef
    availability_target: Annotated[float, Field(gt=0, le=100)] | None = None
    calendar: ClockName | None = None
    # The agreed service hours its business-clock targets count (default: [sla.calendar]).
    service_hours: CalendarPolicy | None = None
    incident_targets: dict[str, AgreementTarget] = {}
    request_targets: RequestTargets = RequestTargets()
    review_every: str | None = None
    next_review: date | None = None
    # How long before each review date the owner is reminded.
    remind_before: list[Duration] = Field(
        default_factory=lambda: [timedelta(days=14), timedelta(days=1)]
    )
    # An overdue review: the owner is chased every `chase_every` after the date; once it is
    # `escalate_after` overdue, `escalate_to` (a person, user group or channel) is told.
    chase_every: Duration | None = timedelta(days=7)
    escalate_after: Duration | None = None
    escalate_to: SlackRef | None = None

    @field_validator("incident_targets", mode="before")
    @classmethod
    def _priority_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        cleaned: dict[str, Any] = {}
        for key, target in value.items():
            name = str(key).strip().upper()
            if name not in PRIORITIES:
                raise ValueError(f"unknown priority {key!r}; use P1 to P5")
            cleaned[name] = target
        return cleaned

    @field_validator("owner")
    @classmethod
    def _owner_is_a_person(cls, value: str) -> str:
        if value.startswith("S"):
            raise ValueError(
                f"'{value}' is a user group; an agreement's owner is one person (U…/W…), "
                "who is reminded of its reviews"
            )
        return value

    @field_validator("review_every")
    @classmethod
    def _review_every(cls, value: str | None) -> str | None:
        return _cadence(value)

    @field_validator("remind_before")
    @classmethod
    def _remind_before(cls, value: list[timedelta]) -> list[timedelta]:
        for before in value:
            if before < timedelta(days=1) or before.seconds:
                raise ValueError('remind_before takes whole days, like "14d" or "1d"')
        return sorted(set(value), reverse=True)

    @model_validator(mode="after")
    def _coherent(self) -> Agreement:
        lowered = [s.lower() for s in self.services]
        for index, name in enumerate(lowered):
            if name in lowered[:index]:
                raise ValueError(f"services[{index}]: '{self.services[index]}' is listed twice")
        if self.escalate_after is not None and self.escalate_to is None:
            raise ValueError("escalate_after needs escalate_to: who hears of an overdue review")
        for key in ("chase_every", "escalate_after"):
            value = getattr(self, key)
            if value is not None and (value < timedelta(days=1) or value.seconds):
                raise ValueError(f'{key} takes whole days, like "7d"')
        if self.review_every is None and self.next_review is None:
            raise ValueError(
                f"agreement '{self.name}' needs review_every (a cadence) or next_review (a date)"
            )
        return self

    def covers(self, service: str | None) -> bool:
        """Whether `service` (any letter case) is one this agreement covers."""
        if service is None:
            return False
        lowered = service.lower()
        return any(s.lower() == lowered for s in self.services)

    def first_review(self, *, today: date) -> date:
        """The review date when none has been recorded yet: `next_review`, or one cadence
        after `today` when only a cadence is given."""
        if self.next_review is not None:
            return self.next_review
        assert self.review_every is not None  # _coherent guarantees one of them
        return advance_review(today, self.review_every)
