"""Which working calendar an SLA clock counts on.

A timer names its clock: "24x7", "business" (the install's `[sla.calendar]`), or
"business:NAME" — the service hours of agreement NAME (`[agreements.service_hours]`), for the
incidents and requests that run on that agreement's business-hours targets. An agreement that
is no longer in the policy file falls back to the install's business hours.
"""

from __future__ import annotations

import logging

from models.agreement_policy import Agreement
from models.policy import Policy
from models.sla_policy import CalendarPolicy
from services.sla_clock import BusinessCalendar, WorkCalendar, calendar_for

log = logging.getLogger(__name__)

BUSINESS = "business"
_AGREEMENT_PREFIX = "business:"

# Built once per calendar policy object (public holidays are costly to compute).
_built: dict[int, tuple[CalendarPolicy, BusinessCalendar]] = {}


def _build(calendar_policy: CalendarPolicy) -> BusinessCalendar:
    cached = _built.get(id(calendar_policy))
    if cached is None or cached[0] is not calendar_policy:
        cached = (calendar_policy, BusinessCalendar.from_policy(calendar_policy))
        _built[id(calendar_policy)] = cached
    return cached[1]


def business_calendar(policy: Policy) -> BusinessCalendar:
    """The install's business calendar (`[sla.calendar]`)."""
    return _build(policy.sla.calendar)


def clock_name(agreement: Agreement | None, kind: str) -> str:
    """The clock a target of `kind` ("24x7" or "business") runs on under `agreement`: its own
    service hours when it has them and the target counts business time."""
    if kind == BUSINESS and agreement is not None and agreement.service_hours is not None:
        return _AGREEMENT_PREFIX + agreement.name
    return kind


def hours_of(policy: Policy, clock: str) -> CalendarPolicy:
    """The service hours a clock name stands for (the install's for "business", "24x7" and
    an agreement no longer in the file)."""
    if clock.startswith(_AGREEMENT_PREFIX):
        name = clock.removeprefix(_AGREEMENT_PREFIX)
        for agreement in policy.agreements:
            if agreement.name == name and agreement.service_hours is not None:
                return agreement.service_hours
        log.warning("agreement %r has no service hours any more; using [sla.calendar]", name)
    return policy.sla.calendar


def calendar_of(policy: Policy, clock: str) -> WorkCalendar:
    """The working calendar of a clock name stored on a timer."""
    if clock == "24x7":
        return calendar_for("24x7", business_calendar(policy))
    return calendar_for("business", _build(hours_of(policy, clock)))


def is_business(clock: str) -> bool:
    return clock == BUSINESS or clock.startswith(_AGREEMENT_PREFIX)
