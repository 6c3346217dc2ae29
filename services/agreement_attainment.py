"""How an agreement is doing this period (the calendar month so far, UTC): the share of its
incidents' response and resolution targets met, and each covered service's availability
against the agreement's availability target.

An incident counts when it is on one of the agreement's services and was logged this month
(cancelled ones do not count). A target counts once it is settled: met, or breached (a target
still running and not yet past its deadline is left out, not counted as met). Each incident
is judged on the targets its SLA clock runs on (services.agreements decides them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.agreement_policy import Agreement
from models.incident import Incident, IncidentStatus, SlaPause
from models.policy import Policy
from services import agreements, availability
from services.availability import ServiceAvailability
from services.sla_calendars import calendar_of
from services.sla_clock import Pause, SlaState, evaluate

_CHUNK = 500  # keys per IN list, well inside every database's limit on bound parameters


@dataclass(frozen=True)
class TargetAttainment:
    met: int = 0
    settled: int = 0

    @property
    def percent(self) -> float | None:
        return 100.0 * self.met / self.settled if self.settled else None

    def add(self, state: SlaState) -> TargetAttainment:
        if state.stopped:
            return TargetAttainment(self.met + bool(state.met), self.settled + 1)
        if state.breached:
            return TargetAttainment(self.met, self.settled + 1)
        return self


@dataclass(frozen=True)
class Attainment:
    agreement: Agreement
    start: datetime
    end: datetime
    incidents: int
    response: TargetAttainment
    resolution: TargetAttainment
    services: list[ServiceAvailability]

    def availability_met(self, found: ServiceAvailability) -> bool | None:
        """Whether a service met the agreement's availability target (None: no target)."""
        target = self.agreement.availability_target
        return None if target is None else found.availability_percent >= target


def period_start(now: datetime) -> datetime:
    """The start of the calendar month `now` is in."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def attainment(
    session: Session, *, agreement: Agreement, policy: Policy, now: datetime
) -> Attainment:
    """The agreement's attainment from the start of this month to `now`."""
    start = period_start(now)
    names = [found.name for s in agreement.services if (found := policy.service(s)) is not None]
    incidents = session.exec(
        select(Incident)
        .where(
            col(Incident.service).in_(names),
            Incident.created_at >= start,
            Incident.created_at <= now,
            Incident.status != IncidentStatus.CANCELLED.value,
        )
        .order_by(col(Incident.id))
    ).all()
    # Every On-hold pause of these incidents in one query, not one per incident.
    pauses: dict[str, list[Pause]] = defaultdict(list)
    keys = [incident.key for incident in incidents]
    for chunk in range(0, len(keys), _CHUNK):
        statement = (
            select(SlaPause)
            .where(col(SlaPause.record_key).in_(keys[chunk : chunk + _CHUNK]))
            .order_by(col(SlaPause.started_at))
        )
        for pause in session.exec(statement):
            pauses[pause.record_key].append((pause.started_at, pause.ended_at))
    response, resolution = TargetAttainment(), TargetAttainment()
    for incident in incidents:
        targets, _ = agreements.effective_incident_targets(
            policy, incident.service, incident.priority
        )
        # Cancelled incidents are left out, so the clock stops as services.sla_timers stops
        # it for the others: response at acknowledgement, resolution at resolution.
        for which, stop in (
            ("response", incident.acknowledged_at),
            ("resolution", incident.resolved_at),
        ):
            target = targets.of(which)
            state = evaluate(
                start=incident.created_at,
                target=target.counted,
                calendar=calendar_of(policy, target.calendar),
                pauses=pauses[incident.key],
                now=now,
                stopped_at=stop,
            )
            if which == "response":
                response = response.add(state)
            else:
                resolution = resolution.add(state)
    services = [
        availability.report(session, service=name, period=now - start, now=now, policy=policy)
        for name in names
    ]
    return Attainment(
        agreement=agreement,
        start=start,
        end=now,
        incidents=len(incidents),
        response=response,
        resolution=resolution,
        services=services,
    )
