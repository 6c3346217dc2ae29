"""SLA timers: when each target's next notification stage falls due (the sweep that fires
them into the notification outbox is services.sla_sweep).

Stages are the warning percentages of `sla.warn_at`, 100 (the breach), then 100 + n for the
n-th breach reminder, which falls due after n × `sla.breach_reminder_every` more *counted*
time (so a business-hours incident is not chased at night or while On hold).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import insert as sa_insert
from sqlmodel import Session, col, select

from models.incident import Incident, IncidentStatus, SlaPause
from models.policy import Policy
from models.sla_timer import BREACH_STAGE, SlaTimer
from services import notifications, priority, rows
from services.agreements import effective_incident_targets, request_clock
from services.mrkdwn import user_text
from services.sla_calendars import calendar_of
from services.sla_clock import (
    Pause,
    SlaState,
    WorkCalendar,
    evaluate,
    threshold_instant,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from services.sla_sweep import _DueTimer, _IncidentRow

KIND = "sla"
Target = Literal["response", "resolution"]
TARGETS: tuple[Target, ...] = ("response", "resolution")
# A stage delivered this long after its instant is marked late (the bot was down meanwhile).
LATE_AFTER = timedelta(minutes=5)
# Rounding between "when will X seconds have counted" and "how much has counted" must not
# leave a timer due for ever with nothing crossed.
_TOLERANCE_SECONDS = 1.0
# A timer whose processing raised is looked at again after this, so it cannot block the queue.
RETRY_BROKEN_AFTER = timedelta(minutes=10)

# Service requests count working time (a "2d" fulfilment target is two working days) on
# their agreement's service hours: services.agreements.request_clock.

_TIMER = SlaTimer.__table__  # type: ignore[attr-defined]


def _calendar(policy: Policy, kind: str) -> WorkCalendar:
    return calendar_of(policy, kind)


def _stage_seconds(stage: int, target_seconds: float, policy: Policy) -> float:
    """Counted seconds after which `stage` falls due."""
    if stage <= BREACH_STAGE:
        return target_seconds * stage / 100
    every = policy.sla.breach_reminder_every.total_seconds()
    return target_seconds + (stage - BREACH_STAGE) * every


def _first_stage_after(used: float, target_seconds: float, policy: Policy) -> int:
    """The lowest stage not yet reached after `used` counted seconds."""
    for percent in policy.sla.warn_at:
        if _stage_seconds(percent, target_seconds, policy) > used + _TOLERANCE_SECONDS:
            return percent
    if target_seconds > used + _TOLERANCE_SECONDS:
        return BREACH_STAGE
    every = policy.sla.breach_reminder_every.total_seconds()
    return BREACH_STAGE + math.floor((used + _TOLERANCE_SECONDS - target_seconds) / every) + 1


def _instant(
    timer: SlaTimer | _DueTimer | _NewTimer,
    stage: int,
    calendar: WorkCalendar,
    pauses: Sequence[Pause],
    policy: Policy,
) -> datetime | None:
    seconds = _stage_seconds(stage, timer.target_seconds, policy)
    return threshold_instant(
        start=timer.started_at,
        target=timedelta(seconds=timer.target_seconds),
        calendar=calendar,
        pauses=pauses,
        percent=100 * seconds / timer.target_seconds,
    )


def deadline_moved(session: Session, when: datetime | None) -> None:
    """Note that a timer now falls due at `when`, so that whoever waits for the next due
    instant (the scheduler's wake-up) is told once the session commits."""
    notifications.note_wake(session, when)


def _pauses(session: Session, record_key: str) -> list[Pause]:
    statement = (
        select(SlaPause).where(SlaPause.record_key == record_key).order_by(col(SlaPause.started_at))
    )
    return [(pause.started_at, pause.ended_at) for pause in session.exec(statement)]


def _get_timer(session: Session, record_key: str, target: str) -> SlaTimer | None:
    statement = (
        select(SlaTimer)
        .where(SlaTimer.record_key == record_key, SlaTimer.target == target)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(statement).first()


def refresh(
    session: Session,
    *,
    record_key: str,
    target: Target,
    duration: timedelta,
    start: datetime,
    calendar_kind: str,
    stopped_at: datetime | None,
    pauses: Sequence[Pause],
    now: datetime,
    policy: Policy,
) -> SlaTimer:
    """Create or update the timer of one target and recompute when its next stage falls due.

    Call it whenever what the clock depends on changes (created, acknowledged, held, resumed,
    resolved, reopened, re-prioritised). Stages already fired stay fired; a stopped target
    (met) cancels its notifications still waiting to be sent.
    """
    timer = _get_timer(session, record_key, target)
    if timer is None:
        timer = SlaTimer(
            record_key=record_key,
            target=target,
            started_at=start,
            target_seconds=int(duration.total_seconds()),
            calendar=calendar_kind,
            next_stage=policy.sla.warn_at[0] if policy.sla.warn_at else BREACH_STAGE,
            updated_at=now,
        )
        if not rows.add_once(session, timer):
            # Created meanwhile by a concurrent transaction; update that one.
            timer = _get_timer(session, record_key, target)
            if timer is None:
                raise RuntimeError(f"{record_key}'s {target} timer refused, yet not found")
    timer.started_at = start
    timer.target_seconds = int(duration.total_seconds())
    timer.calendar = calendar_kind
    timer.stopped_at = stopped_at
    timer.updated_at = now
    # Kept for reports: met or breached is then a comparison the database can make.
    timer.due_at = _instant(timer, BREACH_STAGE, _calendar(policy, calendar_kind), pauses, policy)
    if stopped_at is not None:
        timer.next_due_at = None
        notifications.cancel_for(
            session, record_key=record_key, kind=KIND, stage_prefix=f"{target}:"
        )
    else:
        timer.next_due_at = _instant(
            timer, timer.next_stage, _calendar(policy, calendar_kind), pauses, policy
        )
        deadline_moved(session, timer.next_due_at)
    session.add(timer)
    return timer


@dataclass(frozen=True)
class _Subject:
    """What the sweep needs of the record a timer belongs to, whatever its kind."""

    key: str
    headline: str
    is_open: bool
    stops: dict[Target, datetime | None]
    pauses: list[Pause]
    assignee: str | None
    service: str | None
    team: str | None
    thread: tuple[str, str] | None
    restricted: bool = False  # a security incident: told only to the security team


def _incident_subject(incident: Incident | _IncidentRow, pauses: list[Pause]) -> _Subject:
    return _Subject(
        key=incident.key,
        # Notification text is mrkdwn: the title is escaped here, where it is composed.
        headline=f"{incident.key} ({priority.name(incident.priority)}) {user_text(incident.title)}",
        is_open=incident.is_open,
        stops=_stops(incident),
        pauses=pauses,
        assignee=incident.assignee,
        service=incident.service,
        team=incident.team,
        thread=(incident.channel_id, incident.message_ts)
        if incident.channel_id and incident.message_ts
        else None,
        restricted=bool(incident.restricted),
    )


def _request_subject(request: Any) -> _Subject:
    return _Subject(
        key=request.key,
        headline=f"{request.key} (request) {user_text(request.title)}",
        is_open=request.status not in _REQUEST_ENDED,
        stops=_request_stops(request),
        pauses=_request_pauses(request),
        assignee=request.assignee,
        service=None,
        team=request.fulfilment_team,
        thread=None,
    )


_REQUEST_ENDED = {"rejected", "fulfilled", "closed", "cancelled"}


def _request_stops(request: Any) -> dict[Target, datetime | None]:
    """Response is met when fulfilment starts; resolution (the fulfilment target) when it is
    fulfilled. A rejected or cancelled request stops both."""
    ended = request.closed_at if request.status in ("cancelled", "closed") else None
    if request.status == "rejected":
        ended = request.decided_at
    return {
        "response": request.started_at or request.fulfilled_at or ended,
        "resolution": request.fulfilled_at or ended,
    }


def _request_pauses(request: Any) -> list[Pause]:
    # Waiting for an approver is not the fulfilment team's time.
    return [(request.submitted_at, request.decided_at)] if request.approver else []


def _request_targets(request: Any) -> tuple[tuple[Target, timedelta], ...]:
    """Response, then resolution (the catalog item's fulfilment target)."""
    return (
        ("response", timedelta(seconds=request.response_target_s)),
        ("resolution", timedelta(seconds=request.fulfilment_target_s)),
    )


def refresh_request(session: Session, *, request: Any, now: datetime, policy: Policy) -> None:
    """Refresh both timers of a service request (catalog targets, business-hours clock)."""
    session.flush()
    stops = _request_stops(request)
    pauses = _request_pauses(request)
    for which, target in _request_targets(request):
        refresh(
            session,
            record_key=request.key,
            target=which,
            duration=target,
            start=request.submitted_at,
            calendar_kind=request_clock(policy, request.agreement),
            stopped_at=stops[which],
            pauses=pauses,
            now=now,
            policy=policy,
        )


def start_request_timers(session: Session, *, request: Any, now: datetime, policy: Policy) -> None:
    """The timers of a request just submitted, computed in Python (what `refresh_request`
    would write, without reading first)."""
    start_timers(
        session,
        record_key=request.key,
        targets=[
            (which, target, request_clock(policy, request.agreement))
            for which, target in _request_targets(request)
        ],
        start=request.submitted_at,
        now=now,
        policy=policy,
        pauses=_request_pauses(request),
    )


def request_sla(*, request: Any, policy: Policy, now: datetime) -> tuple[SlaState, SlaState]:
    """(response state, fulfilment state) of a service request, for `/request show`."""
    stops = _request_stops(request)
    pauses = _request_pauses(request)
    calendar = _calendar(policy, request_clock(policy, request.agreement))
    response, resolution = (
        evaluate(
            start=request.submitted_at,
            target=target,
            calendar=calendar,
            pauses=pauses,
            now=now,
            stopped_at=stops[which],
        )
        for which, target in _request_targets(request)
    )
    return response, resolution


def _stops(incident: Incident | _IncidentRow) -> dict[Target, datetime | None]:
    ended = incident.closed_at if incident.state is IncidentStatus.CANCELLED else None
    return {
        "response": incident.acknowledged_at or ended,
        "resolution": incident.resolved_at or ended,
    }


def incident_targets(incident: Incident, policy: Policy) -> list[tuple[Target, timedelta, str]]:
    """(target, duration, clock kind) of an incident's response and resolution targets: the
    one place that decides them, for the timers and for showing the incident."""
    targets, _ = effective_incident_targets(policy, incident.service, incident.priority)
    return [(which, targets.of(which).counted, targets.of(which).calendar) for which in TARGETS]


def incident_agreement(incident: Incident, policy: Policy) -> str | None:
    """The agreement whose targets an incident runs on (None when no agreement covers its
    service); recorded on the incident and shown with it."""
    return effective_incident_targets(policy, incident.service, incident.priority)[1]


def refresh_incident(
    session: Session, *, incident: Incident, now: datetime, policy: Policy
) -> None:
    """Refresh both timers of an incident from its current state and priority. The clock
    always counts from the original creation, so a priority change moves every deadline."""
    session.flush()  # pauses and state changes made by the caller must be visible below
    pauses = _pauses(session, incident.key)
    stops = _stops(incident)
    incident.agreement = incident_agreement(incident, policy)
    for which, duration, kind in incident_targets(incident, policy):
        refresh(
            session,
            record_key=incident.key,
            target=which,
            duration=duration,
            start=incident.created_at,
            calendar_kind=kind,
            stopped_at=stops[which],
            pauses=pauses,
            now=now,
            policy=policy,
        )


def start_timers(
    session: Session,
    *,
    record_key: str,
    targets: Sequence[tuple[Target, timedelta, str]],
    start: datetime,
    now: datetime,
    policy: Policy,
    pauses: Sequence[Pause] = (),
) -> None:
    """Insert the timers of a record just created, computed in Python: what `refresh` would
    write, without reading first (a new record has no timers yet), in one statement (neither
    stopped nor breached: those columns stay empty)."""
    first = policy.sla.warn_at[0] if policy.sla.warn_at else BREACH_STAGE
    rows = []
    for which, duration, kind in targets:
        row = _NewTimer(start, int(duration.total_seconds()))
        calendar = _calendar(policy, kind)
        due = _instant(row, first, calendar, pauses, policy)
        deadline_moved(session, due)
        rows.append(
            {
                "record_key": record_key,
                "target": which,
                "started_at": start,
                "target_seconds": row.target_seconds,
                "calendar": kind,
                "next_stage": first,
                "next_due_at": due,
                # Kept for reports, as `refresh` keeps it.
                "due_at": _instant(row, BREACH_STAGE, calendar, pauses, policy),
                "updated_at": now,
            }
        )
    session.connection().execute(_INSERT_TIMERS, rows)


_INSERT_TIMERS = sa_insert(_TIMER)


@dataclass(frozen=True)
class _NewTimer:
    started_at: datetime
    target_seconds: int


def incident_sla(
    session: Session, *, incident: Incident, policy: Policy, now: datetime
) -> tuple[SlaState, SlaState, datetime | None]:
    """(response state, resolution state, the next deadline still running) for showing an
    incident: the incident message and `/incident show`."""
    pauses = _pauses(session, incident.key)
    stops = _stops(incident)
    states = [
        evaluate(
            start=incident.created_at,
            target=duration,
            calendar=_calendar(policy, kind),
            pauses=pauses,
            now=now,
            stopped_at=stops[which],
        )
        for which, duration, kind in incident_targets(incident, policy)
    ]
    running = [s.due_at for s in states if not s.stopped and s.due_at is not None]
    return states[0], states[1], min(running) if running else None


@dataclass(frozen=True)
class Fired:
    """One stage the sweep queued notifications for."""

    record_key: str
    target: str
    stage: str
    late: bool
    recipients: tuple[str, ...]


def sweep(session: Session, *, now: datetime, policy: Policy, limit: int = 500) -> list[Fired]:
    """Fire the stages of every timer due by `now` (services.sla_sweep.sweep)."""
    from services.sla_sweep import sweep as run

    return run(session, now=now, policy=policy, limit=limit)
