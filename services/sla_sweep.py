"""The SLA sweep: fire the notification stages of every timer due, into the outbox.

Split from services.sla_timers (which keeps the timers, their deadlines and what the
records show); `sla_timers.sweep` still answers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, any_, bindparam, text
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from models.escalation_policy import Audience
from models.incident import KEY_PREFIX, OPEN_STATUSES, Incident, IncidentStatus, SlaPause
from models.policy import Policy
from models.sla_policy import format_duration
from models.sla_timer import BREACH_STAGE, SlaTimer
from services import inserts, notifications, security
from services.sla_clock import (
    Pause,
    WorkCalendar,
    elapsed,
)
from services.sla_timers import (
    _TIMER,
    _TOLERANCE_SECONDS,
    KIND,
    LATE_AFTER,
    RETRY_BROKEN_AFTER,
    Fired,
    _calendar,
    _first_stage_after,
    _incident_subject,
    _instant,
    _request_subject,
    _stage_seconds,
    _Subject,
    deadline_moved,
)

log = logging.getLogger(__name__)


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


# The timers as one JSON array (one parameter, parsed by the server; dumping a few hundred
# values per column as arrays cost more in the driver than the update itself).
_PG_UPDATE = text(
    "UPDATE sla_timer AS t SET next_stage = v.next_stage, next_due_at = v.next_due_at, "
    "stopped_at = v.stopped_at, breached_at = v.breached_at, updated_at = v.updated_at "
    "FROM json_to_recordset(CAST(:rows AS json)) AS v(id integer, next_stage integer, "
    "next_due_at timestamptz, stopped_at timestamptz, breached_at timestamptz, "
    "updated_at timestamptz) WHERE t.id = v.id"
)


def _update_timers(session: Session, timers: Sequence[_DueTimer]) -> None:
    """Write every timer back in one statement: an UPDATE … FROM json_to_recordset on
    PostgreSQL (one round trip), an executemany on SQLite (in-process, no round trips)."""
    if not timers:
        return
    if session.get_bind().dialect.name == "postgresql":
        rows = [
            {
                "id": t.id,
                "next_stage": t.next_stage,
                "next_due_at": t.next_due_at,
                "stopped_at": t.stopped_at,
                "breached_at": t.breached_at,
                "updated_at": t.updated_at,
            }
            for t in timers
        ]
        session.execute(_PG_UPDATE, {"rows": inserts.json_rows(rows)})
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
            sa_select(*_INCIDENT_COLUMNS).where(_among(session, _INCIDENT.c.id, numbers["INC"]))
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
        "restricted",
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
    restricted: bool

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}-{self.id}"

    @property
    def state(self) -> IncidentStatus:
        return IncidentStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATUSES


def _among(session: Session, column: Any, values: list[Any]) -> Any:
    """`column IN values`: on PostgreSQL as `= ANY(one array)`, a short statement with one
    parameter instead of one parameter per value (a few hundred here)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def _pauses_of(session: Session, record_keys: Sequence[str]) -> dict[str, list[Pause]]:
    if not record_keys:
        return {}
    statement = (
        sa_select(SlaPause.record_key, SlaPause.started_at, SlaPause.ended_at)  # type: ignore[call-overload]
        .where(_among(session, col(SlaPause.record_key), list(record_keys)))
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
    if incident.restricted:
        return _restricted_recipients(incident, audiences, policy)
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


def _restricted_recipients(
    incident: _Subject, audiences: Sequence[Audience], policy: Policy
) -> list[tuple[str, tuple[str, str] | None]]:
    """A security incident's notifications reach only its assignee, the security team and its
    own thread (in the security channel), whatever audiences the stage names."""
    people = [incident.assignee] if Audience.ASSIGNEE in audiences and incident.assignee else []
    people += [ref for ref in security.recipients(policy) if ref not in people]
    found: list[tuple[str, tuple[str, str] | None]] = [(ref, None) for ref in people]
    channels = {Audience.ESCALATION_CHANNEL, Audience.INCIDENT_CHANNEL} & set(audiences)
    if (channels or not found) and (incident.thread or policy.channels.security):
        where = incident.thread[0] if incident.thread else policy.channels.security
        found.append((str(where), incident.thread))
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
