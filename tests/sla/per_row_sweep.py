"""The SLA sweep as it was before issue 10: one timer at a time, each in its own savepoint.

Kept only as the reference that tests/sla/test_sweep_equivalence.py compares the set-based
`services.sla_timers.sweep` with, on the same data. It reuses the stage arithmetic of
services.sla_timers, so the comparison is about the shape of the sweep (what is read, what
is written, and in which order), not about the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from models.incident import Incident
from models.policy import Policy
from models.sla_timer import BREACH_STAGE, SlaTimer
from services import notifications, priority
from services import sla_sweep as sw
from services import sla_timers as st
from services.mrkdwn import user_text
from services.sla_clock import Pause, WorkCalendar, elapsed

log = logging.getLogger(__name__)


def sweep(session: Session, *, now: datetime, policy: Policy, limit: int = 500) -> list[st.Fired]:
    statement = (
        select(SlaTimer)
        .where(col(SlaTimer.next_due_at) <= now)
        .order_by(col(SlaTimer.next_due_at), col(SlaTimer.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    fired: list[st.Fired] = []
    for timer in list(session.exec(statement.execution_options(populate_existing=True))):
        try:
            with session.begin_nested():
                result = _advance(session, timer, now=now, policy=policy)
        except Exception:
            log.exception("SLA timer %s %s could not be processed", timer.record_key, timer.target)
            session.refresh(timer)
            timer.next_due_at = now + st.RETRY_BROKEN_AFTER
            session.add(timer)
            continue
        if result is not None:
            fired.append(result)
    return fired


def _pauses(session: Session, record_key: str) -> list[Pause]:
    from models.incident import SlaPause

    statement = (
        select(SlaPause).where(SlaPause.record_key == record_key).order_by(col(SlaPause.started_at))
    )
    return [(pause.started_at, pause.ended_at) for pause in session.exec(statement)]


def _subject(session: Session, record_key: str) -> st._Subject | None:
    prefix, _, number = record_key.partition("-")
    if not number.isdigit():
        return None
    if prefix == "INC":
        incident = session.get(Incident, int(number))
        if incident is None:
            return None
        return st._Subject(
            key=incident.key,
            headline=f"{incident.key} ({priority.name(incident.priority)}) "
            f"{user_text(incident.title)}",
            is_open=incident.is_open,
            stops=st._stops(incident),
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
        return st._Subject(
            key=request.key,
            headline=f"{request.key} (request) {user_text(request.title)}",
            is_open=request.status not in st._REQUEST_ENDED,
            stops=st._request_stops(request),
            pauses=st._request_pauses(request),
            assignee=request.assignee,
            service=None,
            team=request.fulfilment_team,
            thread=None,
        )
    return None


def _advance(
    session: Session, timer: SlaTimer, *, now: datetime, policy: Policy
) -> st.Fired | None:
    subject = _subject(session, timer.record_key)
    if subject is None:
        timer.next_due_at = None
        session.add(timer)
        return None
    stop = subject.stops[timer.target]  # type: ignore[index]
    if stop is not None or not subject.is_open:
        timer.stopped_at = stop or now
        timer.next_due_at = None
        notifications.cancel_for(
            session, record_key=timer.record_key, kind=st.KIND, stage_prefix=f"{timer.target}:"
        )
        session.add(timer)
        return None
    calendar = st._calendar(policy, timer.calendar)
    pauses = subject.pauses
    used = elapsed(start=timer.started_at, now=now, calendar=calendar, pauses=pauses)
    reached = used + st._TOLERANCE_SECONDS
    target_seconds = float(timer.target_seconds)
    crossed: int | None = None
    if timer.next_stage <= BREACH_STAGE and reached >= target_seconds:
        crossed = BREACH_STAGE
    elif timer.next_stage > BREACH_STAGE:
        highest = st._first_stage_after(used, target_seconds, policy) - 1
        crossed = highest if highest >= timer.next_stage else None
    else:
        passed = [
            p
            for p in policy.sla.warn_at
            if p >= timer.next_stage and st._stage_seconds(p, target_seconds, policy) <= reached
        ]
        crossed = max(passed) if passed else None
    result = None
    if crossed is not None:
        result = _fire(
            session, timer, subject, crossed, now=now, policy=policy, calendar=calendar,
            pauses=pauses,
        )
    timer.next_stage = max(timer.next_stage, st._first_stage_after(used, target_seconds, policy))
    timer.next_due_at = st._instant(timer, timer.next_stage, calendar, pauses, policy)
    timer.updated_at = now
    session.add(timer)
    return result


def _fire(
    session: Session,
    timer: SlaTimer,
    incident: st._Subject,
    stage: int,
    *,
    now: datetime,
    policy: Policy,
    calendar: WorkCalendar,
    pauses: Sequence[Pause],
) -> st.Fired:
    instant = st._instant(timer, stage, calendar, pauses, policy) or now
    late = now - instant > st.LATE_AFTER
    routing = policy.escalation.sla_recipients
    if stage < BREACH_STAGE:
        audiences, name = routing.for_warning(stage), f"{timer.target}:{stage}"
    elif stage == BREACH_STAGE:
        audiences, name = routing.breach, f"{timer.target}:{stage}"
        timer.breached_at = timer.breached_at or instant
    else:
        audiences = routing.for_reminder
        name = f"{timer.target}:reminder:{stage - BREACH_STAGE}"
    deadline = st._instant(timer, BREACH_STAGE, calendar, pauses, policy)
    text = sw._message(
        incident, timer, stage, instant=instant, deadline=deadline, now=now, late=late
    )
    recipients = sw._recipients(incident, audiences, policy)
    for recipient, thread in recipients:
        notifications.schedule(
            session,
            record_key=timer.record_key,
            kind=st.KIND,
            stage=name,
            recipient=recipient,
            due_at=instant,
            text=text,
            thread=thread,
            late=late,
            now=now,
        )
    return st.Fired(timer.record_key, timer.target, name, late, tuple(r for r, _ in recipients))
