"""SLA timers: when each target's next notification stage falls due, and the sweep that fires
them into the notification outbox.

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
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.escalation_policy import Audience
from models.incident import Incident, IncidentStatus, SlaPause
from models.policy import Policy
from models.sla_policy import CalendarPolicy, format_duration
from models.sla_timer import BREACH_STAGE, SlaTimer
from services import notifications, priority
from services.agreements import effective_incident_targets
from services.mrkdwn import user_text
from services.sla_clock import (
    BusinessCalendar,
    Pause,
    SlaState,
    WorkCalendar,
    calendar_for,
    elapsed,
    evaluate,
    threshold_instant,
)

log = logging.getLogger(__name__)

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

# Service requests count working time: a "2d" fulfilment target is two working days.
REQUEST_CALENDAR = "business"

_calendars: dict[int, tuple[CalendarPolicy, BusinessCalendar]] = {}


def business_calendar(policy: Policy) -> BusinessCalendar:
    """The policy's business calendar, built once per policy object (holidays are costly)."""
    calendar_policy = policy.sla.calendar
    cached = _calendars.get(id(calendar_policy))
    if cached is None or cached[0] is not calendar_policy:
        cached = (calendar_policy, BusinessCalendar.from_policy(calendar_policy))
        _calendars[id(calendar_policy)] = cached
    return cached[1]


def _calendar(policy: Policy, kind: str) -> WorkCalendar:
    return calendar_for("business" if kind == "business" else "24x7", business_calendar(policy))


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
    timer: SlaTimer, stage: int, calendar: WorkCalendar, pauses: Sequence[Pause], policy: Policy
) -> datetime | None:
    seconds = _stage_seconds(stage, timer.target_seconds, policy)
    return threshold_instant(
        start=timer.started_at,
        target=timedelta(seconds=timer.target_seconds),
        calendar=calendar,
        pauses=pauses,
        percent=100 * seconds / timer.target_seconds,
    )


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
        try:
            with session.begin_nested():
                session.add(timer)
                session.flush()
        except IntegrityError:
            # Created meanwhile by a concurrent transaction; update that one.
            timer = _get_timer(session, record_key, target)
            if timer is None:
                raise
    timer.started_at = start
    timer.target_seconds = int(duration.total_seconds())
    timer.calendar = calendar_kind
    timer.stopped_at = stopped_at
    timer.updated_at = now
    # Kept for reports: met or breached is then a comparison the database can make.
    timer.due_at = _instant(
        timer, BREACH_STAGE, _calendar(policy, calendar_kind), pauses, policy
    )
    if stopped_at is not None:
        timer.next_due_at = None
        notifications.cancel_for(
            session, record_key=record_key, kind=KIND, stage_prefix=f"{target}:"
        )
    else:
        timer.next_due_at = _instant(
            timer, timer.next_stage, _calendar(policy, calendar_kind), pauses, policy
        )
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


def _subject(session: Session, record_key: str) -> _Subject | None:
    prefix, _, number = record_key.partition("-")
    if not number.isdigit():
        return None
    if prefix == "INC":
        incident = session.get(Incident, int(number))
        if incident is None:
            return None
        return _Subject(
            key=incident.key,
            # Notification text is mrkdwn: the title is escaped here, where it is composed.
            headline=f"{incident.key} ({priority.name(incident.priority)}) "
            f"{user_text(incident.title)}",
            is_open=incident.is_open,
            stops=_stops(incident),
            pauses=_pauses(session, incident.key),
            assignee=incident.assignee,
            service=incident.service,
            team=incident.team,
            thread=(incident.channel_id, incident.message_ts)
            if incident.channel_id and incident.message_ts
            else None,
        )
    if prefix == "REQ":
        from models.service_request import ServiceRequest

        request = session.get(ServiceRequest, int(number))
        if request is None:
            return None
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
    return None


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
            calendar_kind=REQUEST_CALENDAR,
            stopped_at=stops[which],
            pauses=pauses,
            now=now,
            policy=policy,
        )


def request_sla(*, request: Any, policy: Policy, now: datetime) -> tuple[SlaState, SlaState]:
    """(response state, fulfilment state) of a service request, for `/request show`."""
    stops = _request_stops(request)
    pauses = _request_pauses(request)
    calendar = _calendar(policy, REQUEST_CALENDAR)
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


def _stops(incident: Incident) -> dict[Target, datetime | None]:
    ended = incident.closed_at if incident.state is IncidentStatus.CANCELLED else None
    return {
        "response": incident.acknowledged_at or ended,
        "resolution": incident.resolved_at or ended,
    }


def refresh_incident(
    session: Session, *, incident: Incident, now: datetime, policy: Policy
) -> None:
    """Refresh both timers of an incident from its current state and priority. The clock
    always counts from the original creation, so a priority change moves every deadline."""
    session.flush()  # pauses and state changes made by the caller must be visible below
    pauses = _pauses(session, incident.key)
    stops = _stops(incident)
    targets, incident.agreement = effective_incident_targets(
        policy, incident.service, incident.priority
    )
    for which in TARGETS:
        refresh(
            session,
            record_key=incident.key,
            target=which,
            duration=targets.of(which).counted,
            start=incident.created_at,
            calendar_kind=targets.of(which).calendar,
            stopped_at=stops[which],
            pauses=pauses,
            now=now,
            policy=policy,
        )


def incident_sla(
    session: Session, *, incident: Incident, policy: Policy, now: datetime
) -> tuple[SlaState, SlaState, datetime | None]:
    """(response state, resolution state, the next deadline still running) for showing an
    incident: the incident message and `/incident show`."""
    pauses = _pauses(session, incident.key)
    stops = _stops(incident)
    targets, _ = effective_incident_targets(policy, incident.service, incident.priority)
    states = [
        evaluate(
            start=incident.created_at,
            target=targets.of(which).counted,
            calendar=_calendar(policy, targets.of(which).calendar),
            pauses=pauses,
            now=now,
            stopped_at=stops[which],
        )
        for which in TARGETS
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
    """Fire the stages of every timer due by `now` (earliest first, at most `limit`).

    When several stages passed since the last sweep (the bot was down), only the highest one
    is sent, marked late; a target met meanwhile sends nothing.
    """
    statement = (
        select(SlaTimer)
        .where(col(SlaTimer.next_due_at) <= now)
        .order_by(col(SlaTimer.next_due_at), col(SlaTimer.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    fired: list[Fired] = []
    for timer in list(session.exec(statement.execution_options(populate_existing=True))):
        try:
            with session.begin_nested():
                result = _advance(session, timer, now=now, policy=policy)
        except Exception:
            log.exception("SLA timer %s %s could not be processed", timer.record_key, timer.target)
            session.refresh(timer)
            timer.next_due_at = now + RETRY_BROKEN_AFTER
            session.add(timer)
            continue
        if result is not None:
            fired.append(result)
    return fired


def _advance(session: Session, timer: SlaTimer, *, now: datetime, policy: Policy) -> Fired | None:
    subject = _subject(session, timer.record_key)
    if subject is None:
        timer.next_due_at = None
        session.add(timer)
        return None
    stop = subject.stops[timer.target]  # type: ignore[index]
    if stop is not None or not subject.is_open:
        # Met or closed since the timer was set (a refresh was missed): nothing applies now.
        timer.stopped_at = stop or now
        timer.next_due_at = None
        notifications.cancel_for(
            session, record_key=timer.record_key, kind=KIND, stage_prefix=f"{timer.target}:"
        )
        session.add(timer)
        return None
    calendar = _calendar(policy, timer.calendar)
    pauses = subject.pauses
    used = elapsed(start=timer.started_at, now=now, calendar=calendar, pauses=pauses)
    reached = used + _TOLERANCE_SECONDS
    target_seconds = float(timer.target_seconds)
    crossed: int | None = None
    if timer.next_stage <= BREACH_STAGE and reached >= target_seconds:
        # The breach is always told, even when reminders have also come due meanwhile.
        crossed = BREACH_STAGE
    elif timer.next_stage > BREACH_STAGE:
        highest = _first_stage_after(used, target_seconds, policy) - 1
        crossed = highest if highest >= timer.next_stage else None
    else:
        passed = [
            p
            for p in policy.sla.warn_at
            if p >= timer.next_stage and _stage_seconds(p, target_seconds, policy) <= reached
        ]
        crossed = max(passed) if passed else None
    result = None
    if crossed is not None:
        result = _fire(
            session,
            timer,
            subject,
            crossed,
            now=now,
            policy=policy,
            calendar=calendar,
            pauses=pauses,
        )
    timer.next_stage = max(timer.next_stage, _first_stage_after(used, target_seconds, policy))
    timer.next_due_at = _instant(timer, timer.next_stage, calendar, pauses, policy)
    timer.updated_at = now
    session.add(timer)
    return result


def _fire(
    session: Session,
    timer: SlaTimer,
    incident: _Subject,
    stage: int,
    *,
    now: datetime,
    policy: Policy,
    calendar: WorkCalendar,
    pauses: Sequence[Pause],
) -> Fired:
    instant = _instant(timer, stage, calendar, pauses, policy) or now
    late = now - instant > LATE_AFTER
    routing = policy.escalation.sla_recipients
    if stage < BREACH_STAGE:
        audiences, name = routing.for_warning(stage), f"{timer.target}:{stage}"
    elif stage == BREACH_STAGE:
        audiences, name = routing.breach, f"{timer.target}:{stage}"
        timer.breached_at = timer.breached_at or instant
    else:
        audiences = routing.for_reminder
        name = f"{timer.target}:reminder:{stage - BREACH_STAGE}"
    deadline = _instant(timer, BREACH_STAGE, calendar, pauses, policy)
    text = _message(incident, timer, stage, instant=instant, deadline=deadline, now=now, late=late)
    recipients = _recipients(incident, audiences, policy)
    for recipient, thread in recipients:
        notifications.schedule(
            session,
            record_key=timer.record_key,
            kind=KIND,
            stage=name,
            recipient=recipient,
            due_at=instant,
            text=text,
            thread=thread,
            late=late,
            now=now,
        )
    return Fired(timer.record_key, timer.target, name, late, tuple(r for r, _ in recipients))


def _recipients(
    incident: _Subject, audiences: Sequence[Audience], policy: Policy
) -> list[tuple[str, tuple[str, str] | None]]:
    service = policy.service(incident.service)
    team = policy.team(incident.team)
    on_call = (service.on_call if service else None) or (team.on_call if team else None)
    thread = incident.thread
    found: list[tuple[str, tuple[str, str] | None]] = []
    for audience in audiences:
        if audience is Audience.ASSIGNEE:
            refs = [(incident.assignee or on_call, None)]
        elif audience is Audience.ON_CALL:
            refs = [(on_call, None)]
        elif audience is Audience.TEAM_LEAD:
            refs = [(team.lead if team else None, None)]
        elif audience is Audience.ESCALATION_CHANNEL:
            refs = [(policy.channels.escalations, None)]
        else:
            refs = [(thread[0] if thread else policy.channels.incidents, thread)]
        for ref, ref_thread in refs:
            if ref and ref not in [r for r, _ in found]:
                found.append((ref, ref_thread))
    if not found:
        # Nobody to tell by name (unassigned, no on-call): say it where the incident lives.
        found.append((thread[0] if thread else policy.channels.incidents, thread))
    return found


def _message(
    incident: _Subject,
    timer: SlaTimer,
    stage: int,
    *,
    instant: datetime,
    deadline: datetime | None,
    now: datetime,
    late: bool,
) -> str:
    head = incident.headline
    if stage < BREACH_STAGE:
        due = f" It is due {deadline:%a %d %b %H:%M} UTC." if deadline else ""
        text = f":hourglass: {head}: {stage} % of the {timer.target} time is used.{due}"
    elif stage == BREACH_STAGE:
        text = f":rotating_light: {head} has breached its {timer.target} target."
    else:
        ago = format_duration(now - (timer.breached_at or instant))
        text = (
            f":rotating_light: Reminder: {head} is still past its {timer.target} target "
            f"(breached {ago} ago)."
        )
    if late:
        text += " (Sent late: the bot was unavailable when this fell due.)"
    return text
