"""The bot's own URL checks (availability tests with a `url`): which are due, claimed so that
one process checks each; and recording each result, which opens one incident after a streak of
failures and announces the recovery in its thread. The HTTP request is the job's
(schedules/availability.py); these functions only read and write rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, or_
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from models.availability import TestState, UrlCheck
from models.policy import Policy
from services import audit, incidents, notifications
from services.mrkdwn import user_text
from services.permissions import SYSTEM
from services.service_tests import OUTBOX_KIND, ensure_state, ensure_states, open_failure_incident


@dataclass(frozen=True)
class UrlTarget:
    """A URL test whose check is due now (claimed: no other process checks it this time)."""

    service: str
    test_name: str
    url: str


@dataclass(frozen=True)
class CheckRecorded:
    """What one URL check result changed: an incident opened, or a recovery announced."""

    opened: str | None = None
    recovered: str | None = None


def claim(session: Session, *, now: datetime, policy: Policy) -> list[UrlTarget]:
    """The URL tests to check now. Each is claimed by moving its `next_check_at` on, so two
    bot processes do not both check (and double-count) it.

    Set-based: the states made sure of in one insert, the due ones read once (locked, skipping
    those another process holds, on PostgreSQL; SQLite's writers are serialised already) and
    moved on in one statement, however many tests there are."""
    tests = {(s.name, t.name): t for s in policy.services for t in s.tests if t.url is not None}
    if not tests:
        return []
    ensure_states(session, pairs=list(tests), now=now)
    statement = (
        sa_select(_STATE.c.id, _STATE.c.service, _STATE.c.test_name)
        .where(or_(_STATE.c.next_check_at.is_(None), _STATE.c.next_check_at <= now))
        .order_by(_STATE.c.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    due = [row for row in session.execute(statement) if (row.service, row.test_name) in tests]
    if not due:
        return []
    session.execute(
        sa_update(_STATE)
        .where(_STATE.c.id == bindparam("b_id"))
        .values(next_check_at=bindparam("b_next")),
        [
            {"b_id": row.id, "b_next": tests[(row.service, row.test_name)].next_after(now)}
            for row in due
        ],
    )
    by_order = {key: n for n, key in enumerate(tests)}
    due.sort(key=lambda row: by_order[(row.service, row.test_name)])
    return [
        UrlTarget(row.service, row.test_name, str(tests[(row.service, row.test_name)].url))
        for row in due
    ]


_STATE = TestState.__table__  # type: ignore[attr-defined]


def record_check(
    session: Session,
    *,
    service: str,
    test_name: str,
    ok: bool,
    status_code: int | None,
    error: str | None,
    latency_ms: int | None,
    now: datetime,
    policy: Policy,
) -> CheckRecorded:
    """Store one URL check result. The `failures_before_incident`-th consecutive failure opens
    one incident on the service (further failures add nothing); the first success after it
    queues a "recovered" message in that incident's thread."""
    session.add(
        UrlCheck(
            service=service,
            test_name=test_name,
            at=now,
            ok=ok,
            status_code=status_code,
            error=(error or None) and error[:300],
            latency_ms=latency_ms,
        )
    )
    ensure_state(session, service=service, test_name=test_name, now=now)
    state = session.exec(
        select(TestState)
        .where(TestState.service == service, TestState.test_name == test_name)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if ok:
        return _recovered(session, state, now=now, policy=policy)
    state.consecutive_failures += 1
    state.failing_since = state.failing_since or now
    session.add(state)
    if (
        state.incident_key
        or state.consecutive_failures < policy.availability.failures_before_incident
    ):
        return CheckRecorded()
    shared = _open_outage(session, service=service, besides=state)
    if shared is not None:
        # Another check of the same service already has the outage open: one incident.
        state.incident_key = shared
        session.add(state)
        audit.record(
            session,
            key=shared,
            actor=SYSTEM.user_id,
            at=now,
            action="url check failing",
            note=f"{test_name} fails too",
        )
        return CheckRecorded()
    described = f"HTTP {status_code}" if status_code is not None else (error or "no answer")
    incident = open_failure_incident(
        session,
        kind="availability",
        test_name=test_name,
        service=service,
        description=(
            f"The URL check of {test_name} failed {state.consecutive_failures} times in a "
            f"row since {state.failing_since:%Y-%m-%d %H:%M} UTC (last: {described})."
        ),
        reporter=SYSTEM.user_id,
        now=now,
        policy=policy,
        submission_id=f"url-check:{state.id}:{int(state.failing_since.timestamp())}",
    )
    state.incident_key = incident.key
    session.add(state)
    return CheckRecorded(opened=incident.key)


def _open_outage(session: Session, *, service: str, besides: TestState) -> str | None:
    """The open incident another URL check of `service` is failing under, if any."""
    others = session.exec(
        select(TestState).where(
            TestState.service == service,
            TestState.id != besides.id,
            col(TestState.incident_key).is_not(None),
        )
    ).all()
    for other in others:
        if other.incident_key and incidents.get(session, key=other.incident_key).is_open:
            return other.incident_key
    return None


def _recovered(
    session: Session, state: TestState, *, now: datetime, policy: Policy
) -> CheckRecorded:
    key = state.incident_key
    failing_since = state.failing_since
    state.consecutive_failures = 0
    state.failing_since = None
    state.incident_key = None
    session.add(state)
    if key is None:
        return CheckRecorded()
    incident = incidents.get(session, key=key)
    down_for = now - failing_since if failing_since else None
    text = (
        f"Recovered: the URL check of {user_text(state.test_name)} on "
        f"{user_text(state.service)} passes again"
    ) + (f" after {_hours_minutes(down_for)}." if down_for is not None else ".")
    thread = (
        (incident.channel_id, incident.message_ts)
        if incident.channel_id and incident.message_ts
        else None
    )
    notifications.schedule(
        session,
        record_key=key,
        kind=OUTBOX_KIND,
        # One per check and failure streak: two checks sharing an outage both report back.
        stage=f"recovered:{state.test_name}:{int(failing_since.timestamp()) if failing_since else 0}",
        recipient=incident.channel_id or policy.channels.incidents,
        due_at=now,
        text=text,
        thread=thread,
        now=now,
    )
    audit.record(
        session, key=key, actor=SYSTEM.user_id, at=now, action="url check recovered", note=text
    )
    return CheckRecorded(recovered=key)


def _hours_minutes(span: object) -> str:
    seconds = int(span.total_seconds())  # type: ignore[attr-defined]
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m {rest % 60}s"
