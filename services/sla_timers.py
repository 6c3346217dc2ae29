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

from sqlalchemy import bindparam, text
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.escalation_policy import Audience
from models.incident import KEY_PREFIX, OPEN_STATUSES, Incident, IncidentStatus, SlaPause
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


def _incident_subject(incident: Incident | _IncidentRow, pauses: list[Pause]) -> _Subject:
    return _Subject(
        key=incident.key,
        # Notification text is mrkdwn: the title is escaped here, where it is composed.
        headline=f"{incident.key} ({priority.name(incident.priority)}) "
        f"{user_text(incident.title)}",
        is_open=incident.is_open,
        stops=_stops(incident),
        pauses=pauses,
        assignee=incident.assignee,
        service=incident.service,
        team=incident.team,
        thread=(incident.channel_id, incident.message_ts)
        if incident.channel_id and incident.message_ts
        else None,
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
            calendar_kind=REQUEST_CALENDAR,
            stopped_at=stops[which],
            pauses=pauses,
            now=now,
            policy=policy,
        )


def start_request_timers(
    session: Session, *, request: Any, now: datetime, policy: Policy
) -> list[SlaTimer]:
    """The timers of a request just submitted, computed in Python (what `refresh_request`
    would write, without reading first)."""
    return start_timers(
        session,
        record_key=request.key,
        targets=[(which, target, REQUEST_CALENDAR) for which, target in _request_targets(request)],
        start=request.submitted_at,
        now=now,
        policy=policy,
        pauses=_request_pauses(request),
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
) -> list[dict[str, Any]]:
    """Insert the timers of a record just created, computed in Python: what `refresh` would
    write, without reading first (a new record has no timers yet), in one statement."""
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
                "stopped_at": None,
                "breached_at": None,
                "updated_at": now,
            }
        )
    session.execute(sa_insert(_TIMER), rows)
    return rows


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
    """Fire the stages of every timer due by `now` (earliest first, at most `limit`).

    When several stages passed since the last sweep (the bot was down), only the highest one
    is sent, marked late; a target met meanwhile sends nothing.

    Set-based: one read of the due timers, one of their records (per kind) and one of their
    pauses, the clock arithmetic in Python, then one insert of every outbox row and one update
    of every timer. The number of statements does not grow with the number of stages due. A
    timer whose computation raises is logged and looked at again later; the others go on.
    """
    timers = _due_timers(session, now=now, limit=limit)
    if not timers:
        return []
    subjects = _subjects(session, {timer.record_key for timer in timers})
    fired: list[Fired] = []
    outbox: list[dict[str, Any]] = []
    cancels: list[tuple[str, str]] = []
    for timer in timers:
        try:
            result, rows, cancel = _advance(
                timer, subjects.get(timer.record_key), now=now, policy=policy
            )
        except Exception:
            log.exception("SLA timer %s %s could not be processed", timer.record_key, timer.target)
            timer.restore()
            timer.next_due_at = now + RETRY_BROKEN_AFTER
            continue
        outbox += rows
        if cancel:
            cancels.append((timer.record_key, f"{timer.target}:"))
        if result is not None:
            fired.append(result)
    notifications.schedule_many(session, outbox)
    notifications.cancel_many(session, kind=KIND, prefixes=cancels)
    _update_timers(session, timers)
    due = [t.next_due_at for t in timers if t.next_due_at is not None]
    if due:
        deadline_moved(session, min(due))
    return fired


@dataclass
class _DueTimer:
    """A due timer as the sweep reads it (a plain row, not an ORM object: the sweep writes
    every timer back in one statement). `_read` keeps the values as read, for `restore`."""

    id: int
    record_key: str
    target: str
    started_at: datetime
    target_seconds: int
    calendar: str
    next_stage: int
    next_due_at: datetime | None
    stopped_at: datetime | None
    breached_at: datetime | None
    updated_at: datetime
    _read: tuple[Any, ...] = ()

    _WRITTEN = ("next_stage", "next_due_at", "stopped_at", "breached_at", "updated_at")

    def __post_init__(self) -> None:
        self._read = tuple(getattr(self, name) for name in self._WRITTEN)

    def restore(self) -> None:
        """Undo what a failed computation changed, as a rolled-back savepoint would."""
        for name, value in zip(self._WRITTEN, self._read, strict=True):
            setattr(self, name, value)


_TIMER = SlaTimer.__table__  # type: ignore[attr-defined]
_TIMER_COLUMNS = [
    _TIMER.c[name]
    for name in (
        "id",
        "record_key",
        "target",
        "started_at",
        "target_seconds",
        "calendar",
        "next_stage",
        "next_due_at",
        "stopped_at",
        "breached_at",
        "updated_at",
    )
]


def _due_timers(session: Session, *, now: datetime, limit: int) -> list[_DueTimer]:
    statement = (
        sa_select(*_TIMER_COLUMNS)
        .where(_TIMER.c.next_due_at <= now)
        .order_by(_TIMER.c.next_due_at, _TIMER.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two sweeps at once (two replicas) each take a disjoint set of timers.
        statement = statement.with_for_update(skip_locked=True)
    return [_DueTimer(*row) for row in session.execute(statement)]


def _update_timers(session: Session, timers: Sequence[_DueTimer]) -> None:
    """Write every timer back in one statement: an UPDATE … FROM unnest(arrays) on
    PostgreSQL (one round trip), an executemany on SQLite (in-process, no round trips)."""
    if not timers:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "UPDATE sla_timer AS t SET next_stage = v.next_stage, "
                "next_due_at = v.next_due_at, stopped_at = v.stopped_at, "
                "breached_at = v.breached_at, updated_at = v.updated_at "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:stages AS integer[]), "
                "CAST(:due AS timestamptz[]), CAST(:stopped AS timestamptz[]), "
                "CAST(:breached AS timestamptz[]), CAST(:updated AS timestamptz[])) "
                "AS v(id, next_stage, next_due_at, stopped_at, breached_at, updated_at) "
                "WHERE t.id = v.id"
            ),
            {
                "ids": [t.id for t in timers],
                "stages": [t.next_stage for t in timers],
                "due": [t.next_due_at for t in timers],
                "stopped": [t.stopped_at for t in timers],
                "breached": [t.breached_at for t in timers],
                "updated": [t.updated_at for t in timers],
            },
        )
        return
    session.execute(
        sa_update(_TIMER)
        .where(_TIMER.c.id == bindparam("b_id"))
        .values(
            next_stage=bindparam("b_stage"),
            next_due_at=bindparam("b_due"),
            stopped_at=bindparam("b_stopped"),
            breached_at=bindparam("b_breached"),
            updated_at=bindparam("b_updated"),
        ),
        [
            {
                "b_id": t.id,
                "b_stage": t.next_stage,
                "b_due": t.next_due_at,
                "b_stopped": t.stopped_at,
                "b_breached": t.breached_at,
                "b_updated": t.updated_at,
            }
            for t in timers
        ],
    )


def _subjects(session: Session, record_keys: set[str]) -> dict[str, _Subject]:
    """The records behind `record_keys`, read with one query per record kind and one for
    the incidents' pauses."""
    numbers: dict[str, list[int]] = {}
    for key in record_keys:
        prefix, _, number = key.partition("-")
        if number.isdigit() and prefix in ("INC", "REQ"):
            numbers.setdefault(prefix, []).append(int(number))
    found: dict[str, _Subject] = {}
    if numbers.get("INC"):
        # Plain rows, not ORM objects: the sweep only reads them, and building a few hundred
        # model instances costs more than the query.
        rows = session.execute(
            sa_select(*_INCIDENT_COLUMNS).where(_INCIDENT.c.id.in_(numbers["INC"]))
        ).all()
        pauses = _pauses_of(session, [f"{KEY_PREFIX}-{row.id}" for row in rows])
        for row in rows:
            incident = _IncidentRow(*row)
            found[incident.key] = _incident_subject(incident, pauses.get(incident.key, []))
    if numbers.get("REQ"):
        from models.service_request import ServiceRequest

        requests = session.exec(
            select(ServiceRequest).where(col(ServiceRequest.id).in_(numbers["REQ"]))
        )
        for request in requests:
            found[request.key] = _request_subject(request)
    return found


_INCIDENT = Incident.__table__  # type: ignore[attr-defined]
_INCIDENT_COLUMNS = [
    _INCIDENT.c[name]
    for name in (
        "id",
        "title",
        "priority",
        "status",
        "acknowledged_at",
        "resolved_at",
        "closed_at",
        "assignee",
        "service",
        "team",
        "channel_id",
        "message_ts",
    )
]


@dataclass(frozen=True)
class _IncidentRow:
    """The columns of an incident the sweep reads, with the model's derived names."""

    id: int
    title: str
    priority: int
    status: str
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    assignee: str | None
    service: str | None
    team: str | None
    channel_id: str | None
    message_ts: str | None

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}-{self.id}"

    @property
    def state(self) -> IncidentStatus:
        return IncidentStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATUSES


def _pauses_of(session: Session, record_keys: Sequence[str]) -> dict[str, list[Pause]]:
    if not record_keys:
        return {}
    statement = (
        sa_select(SlaPause.record_key, SlaPause.started_at, SlaPause.ended_at)  # type: ignore[call-overload]
        .where(col(SlaPause.record_key).in_(record_keys))
        .order_by(col(SlaPause.record_key), col(SlaPause.started_at))
    )
    found: dict[str, list[Pause]] = {}
    for key, started, ended in session.execute(statement):
        found.setdefault(key, []).append((started, ended))
    return found


def _advance(
    timer: _DueTimer, subject: _Subject | None, *, now: datetime, policy: Policy
) -> tuple[Fired | None, list[dict[str, Any]], bool]:
    """Move one timer on in memory: (what fired, its outbox rows, whether to cancel what is
    still waiting for its target)."""
    if subject is None:
        timer.next_due_at = None
        return None, [], False
    stop = subject.stops[timer.target]  # type: ignore[index]
    if stop is not None or not subject.is_open:
        # Met or closed since the timer was set (a refresh was missed): nothing applies now.
        timer.stopped_at = stop or now
        timer.next_due_at = None
        return None, [], True
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
    result: Fired | None = None
    rows: list[dict[str, Any]] = []
    if crossed is not None:
        result, rows = _fire(
            timer, subject, crossed, now=now, policy=policy, calendar=calendar, pauses=pauses
        )
    timer.next_stage = max(timer.next_stage, _first_stage_after(used, target_seconds, policy))
    timer.next_due_at = _instant(timer, timer.next_stage, calendar, pauses, policy)
    timer.updated_at = now
    return result, rows, False


def _fire(
    timer: _DueTimer,
    incident: _Subject,
    stage: int,
    *,
    now: datetime,
    policy: Policy,
    calendar: WorkCalendar,
    pauses: Sequence[Pause],
) -> tuple[Fired, list[dict[str, Any]]]:
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
    rows = [
        notifications.row(
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
        for recipient, thread in recipients
    ]
    fired = Fired(timer.record_key, timer.target, name, late, tuple(r for r, _ in recipients))
    return fired, rows


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
    timer: SlaTimer | _DueTimer,
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
