"""Availability per service over a period: availability %, outages, MTBF and MTRS.

Agreed service time is the whole period (24×7). Downtime is the union of
- incidents on the service with impact "high" (not cancelled): created_at → resolved_at, or
  `now` while still open;
- spans of failing URL checks that reached `failures_before_incident` in a row: first failure
  → the next successful check (or `now`).
Spans are clipped to the period and overlapping ones merged; each merged span is one outage.
availability = (agreed − downtime) / agreed; MTBF = uptime / outages; MTRS = downtime / outages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from models.availability import TestRun, UrlCheck
from models.incident import Incident, IncidentStatus
from models.policy import Policy
from services import service_tests

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class ServiceAvailability:
    service: str
    start: datetime
    end: datetime
    agreed: timedelta
    downtime: timedelta
    outages: list[Span]
    runs: list[TestRun] = field(default_factory=list)

    @property
    def uptime(self) -> timedelta:
        return self.agreed - self.downtime

    @property
    def availability_percent(self) -> float:
        return 100.0 * (self.uptime / self.agreed) if self.agreed else 100.0

    @property
    def mtbf(self) -> timedelta | None:
        return self.uptime / len(self.outages) if self.outages else None

    @property
    def mtrs(self) -> timedelta | None:
        return self.downtime / len(self.outages) if self.outages else None


def merge(spans: list[Span], *, start: datetime, end: datetime) -> list[Span]:
    """Clip spans to [start, end], drop empty ones, merge overlapping or touching ones."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in spans if min(b, end) > max(a, start))
    merged: list[Span] = []
    for a, b in clipped:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def incident_spans(session: Session, *, service: str, start: datetime, now: datetime) -> list[Span]:
    """High-impact incidents on the service that overlap [start, now]."""
    statement = select(Incident).where(
        Incident.service == service,
        Incident.impact == "high",
        Incident.status != IncidentStatus.CANCELLED.value,
        Incident.created_at <= now,
    )
    spans = []
    for incident in session.exec(statement):
        ended = incident.resolved_at or now
        if ended >= start:
            spans.append((incident.created_at, ended))
    return spans


def url_check_spans(
    session: Session, *, service: str, start: datetime, now: datetime, failures_needed: int
) -> list[Span]:
    """Failure streaks of the service's URL checks long enough to have counted as an outage."""
    checks = session.exec(
        select(UrlCheck)
        .where(UrlCheck.service == service, UrlCheck.at <= now)
        .order_by(col(UrlCheck.test_name), col(UrlCheck.at), col(UrlCheck.id))
    ).all()
    spans: list[Span] = []
    streak: dict[str, tuple[datetime, int]] = {}
    for check in checks:
        if not check.ok:
            first, count = streak.get(check.test_name, (check.at, 0))
            streak[check.test_name] = (first, count + 1)
            continue
        first_count = streak.pop(check.test_name, None)
        if first_count and first_count[1] >= failures_needed:
            spans.append((first_count[0], check.at))
    spans.extend((first, now) for first, count in streak.values() if count >= failures_needed)
    return [(a, b) for a, b in spans if b >= start]


def report(
    session: Session, *, service: str, period: timedelta, now: datetime, policy: Policy
) -> ServiceAvailability:
    """Availability of `service` over the `period` ending at `now` (see the module docstring)."""
    start = now - period
    spans = incident_spans(session, service=service, start=start, now=now)
    spans += url_check_spans(
        session,
        service=service,
        start=start,
        now=now,
        failures_needed=policy.availability.failures_before_incident,
    )
    outages = merge(spans, start=start, end=now)
    downtime = sum((b - a for a, b in outages), timedelta(0))
    return ServiceAvailability(
        service=service,
        start=start,
        end=now,
        agreed=period,
        downtime=downtime,
        outages=outages,
        runs=service_tests.runs_between(session, service=service, start=start, end=now),
    )
