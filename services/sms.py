"""The service management system (ISO/IEC 20000-1 clause 4): what `/servicedesk sms` shows.

The policy, objectives, process owners and documents come from the policy file's `[sms]`;
objectives with a `measure` get their value over the current calendar quarter so far, from
the same aggregates the service reports use (services.reports). The standing of each
objective and document (version, next review) is kept by services.sms_reviews.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session

from models.policy import Policy
from models.sms_policy import PROCESSES, Objective
from services.reports.build import figures
from services.reports.figures import Figures
from services.reports.period import Period
from services.reports.scope import Scope


def quarter(now: datetime) -> Period:
    """The calendar quarter (UTC) containing `now`."""
    first_month = 3 * ((now.month - 1) // 3) + 1
    start = datetime(now.year, first_month, 1, tzinfo=UTC)
    following = date(now.year + (first_month + 3 > 12), (first_month + 2) % 12 + 1, 1)
    end = datetime(following.year, following.month, 1, tzinfo=UTC)
    return Period(start=start, end=end, kind="range")


def quarter_label(period: Period) -> str:
    return f"Q{(period.start.month - 1) // 3 + 1} {period.start.year}"


@dataclass(frozen=True)
class Measured:
    """An objective with the value the bot measured (None: not measurable by the bot, or
    nothing settled yet) and why there is none."""

    objective: Objective
    value: float | None = None
    basis: str = ""  # "12 of 13 settled", or why there is no value

    @property
    def met(self) -> bool | None:
        target = self.objective.target
        if self.value is None or target is None:
            return None
        return self.value >= target


def _value(measure: str, found: Figures, policy: Policy) -> tuple[float | None, str]:
    head, _, tail = measure.partition(".")
    if head in ("resolution", "response"):
        attained = found.resolution if head == "resolution" else found.response
        if tail:
            met, breached = attained.by_priority.get(int(tail[1:]), (0, 0))
        else:
            met, breached = attained.met, attained.breached
        if met + breached == 0:
            return None, "none settled yet this quarter"
        return 100.0 * met / (met + breached), f"{met} of {met + breached} met"
    if head == "requests_on_time":
        requests = found.requests
        if not requests.fulfilled:
            return None, "no request fulfilled yet this quarter"
        return requests.on_time_percent, f"{requests.on_time} of {requests.fulfilled} on time"
    if head == "change_success":
        changes = found.changes
        if not changes.reviewed:
            return None, "no change reviewed yet this quarter"
        return changes.success_percent, f"{changes.successful} of {changes.reviewed} successful"
    service = policy.service(tail)
    if service is None:
        return None, f"'{tail}' is not one of the [[services]]"
    uptime = next((u for u in found.availability if u.service == service.name), None)
    if uptime is None:
        return None, "not measured"
    return uptime.percent, f"{uptime.outages} outage(s)"


def measure_objectives(
    session: Session, *, policy: Policy, now: datetime
) -> tuple[Period, list[Measured]]:
    """Each objective of `[sms]` with its value this quarter so far, where the bot measures it.
    The figures are read once, whatever the number of objectives."""
    period = quarter(now)
    objectives = policy.sms.objectives
    if not any(o.measure for o in objectives):
        return period, [Measured(o, None, "measured outside the bot") for o in objectives]
    found = figures(session, policy, Scope(kind="all"), period, now, detail=False)
    out = []
    for objective in objectives:
        if objective.measure is None:
            out.append(Measured(objective, None, "measured outside the bot"))
            continue
        value, basis = _value(objective.measure, found, policy)
        out.append(Measured(objective, value, basis))
    return period, out


def process_owners(policy: Policy) -> list[tuple[str, str | None]]:
    """(process label, owner reference or None) for every process the standard names."""
    owners = policy.sms.process_owners
    return [(label, getattr(owners, key)) for key, label in PROCESSES.items()]
