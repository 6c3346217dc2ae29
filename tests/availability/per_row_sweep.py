"""The availability-test sweep and the URL-check claim as they were before issue 10's last
step: one test and one run at a time (a state upsert and read, a MAX, an insert and a re-read
per test; an update, an audit row and an insert per reminder).

Kept only as the reference that tests/availability/test_sweep_shape.py compares the set-based
`services.service_tests.availability_sweep` and `services.url_checks.claim` with, on the same
data. Texts, blocks and the schedule arithmetic come from the services, so the comparison is
about the shape of the sweep, not the wording.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, or_, select

from models.availability import RunStatus, TestRun, TestState
from models.policy import Policy
from services import audit, notifications, service_tests, url_checks
from services.permissions import SYSTEM
from services.service_tests import Reminder, ensure_state, get_run


def _queue(session, run, *, stage, to, due, now, out):  # type: ignore[no-untyped-def]
    text = service_tests.reminder_text(run, stage)
    if notifications.schedule(
        session,
        record_key=run.key,
        kind=service_tests.OUTBOX_KIND,
        stage=stage,
        recipient=to,
        due_at=due,
        text=text,
        blocks=service_tests.reminder_blocks(run, text),
        late=run.late and stage == "due",
        now=now,
    ):
        out.append(Reminder(run.key, stage, to))


def _create_due_runs(session, service, test, *, now, out):  # type: ignore[no-untyped-def]
    state = ensure_state(session, service=service.name, test_name=test.name, now=now)
    last = session.exec(
        select(func.max(TestRun.due_at)).where(
            TestRun.service == service.name, TestRun.test_name == test.name
        )
    ).one()
    base = last or state.first_seen_at
    due = test.latest_due(after=base, now=now)
    if due is None:
        return
    late = due != test.next_after(base) or now - due > notifications.LATE_AFTER
    created = session.execute(
        service_tests._insert(session)(TestRun)
        .values(
            service=service.name,
            test_name=test.name,
            kind=test.kind.value,
            owner=test.owner,
            due_at=due,
            status=RunStatus.PENDING.value,
            late=late,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["service", "test_name", "due_at"])
        .returning(col(TestRun.id))
    ).scalar_one_or_none()
    if created is None:
        return
    run = get_run(session, run_id=created)
    audit.record(
        session,
        key=run.key,
        actor=SYSTEM.user_id,
        at=now,
        action="due",
        after=run.status,
        note="late" if late else None,
    )
    _queue(session, run, stage="due", to=run.owner, due=now, now=now, out=out)


def _chase(session, run, *, now, policy, out):  # type: ignore[no-untyped-def]
    waited = now - run.created_at
    settings = policy.availability
    if waited < settings.chase_every:
        return
    if run.status == RunStatus.PENDING.value:
        moved = session.execute(
            update(TestRun)
            .where(col(TestRun.id) == run.id, col(TestRun.status) == RunStatus.PENDING.value)
            .values(status=RunStatus.OVERDUE.value)
        ).rowcount
        if moved:
            audit.record(
                session,
                key=run.key,
                actor=SYSTEM.user_id,
                at=now,
                action="overdue",
                field="status",
                before=RunStatus.PENDING,
                after=RunStatus.OVERDUE,
            )
    chases = waited // settings.chase_every
    _queue(
        session,
        run,
        stage=f"chase:{chases}",
        to=run.owner,
        due=run.created_at + settings.chase_every * chases,
        now=now,
        out=out,
    )
    if waited >= settings.escalate_after:
        lead = service_tests._lead_for(policy, run.service)
        if lead:
            _queue(
                session,
                run,
                stage="escalated",
                to=lead,
                due=run.created_at + settings.escalate_after,
                now=now,
                out=out,
            )


def sweep(session: Session, *, now: datetime, policy: Policy) -> list[Reminder]:
    queued: list[Reminder] = []
    for service in policy.services:
        for test in service.tests:
            if test.url is None:
                _create_due_runs(session, service, test, now=now, out=queued)
    open_runs = session.exec(
        select(TestRun)
        .where(col(TestRun.status).in_(service_tests._OPEN))
        .order_by(col(TestRun.id))
    ).all()
    for run in open_runs:
        _chase(session, run, now=now, policy=policy, out=queued)
    return queued


def claim(session: Session, *, now: datetime, policy: Policy) -> list[url_checks.UrlTarget]:
    due: list[url_checks.UrlTarget] = []
    for service in policy.services:
        for test in service.tests:
            if test.url is None:
                continue
            state = ensure_state(session, service=service.name, test_name=test.name, now=now)
            claimed = session.execute(
                update(TestState)
                .where(
                    col(TestState.id) == state.id,
                    or_(
                        col(TestState.next_check_at).is_(None), col(TestState.next_check_at) <= now
                    ),
                )
                .values(next_check_at=test.next_after(now))
            ).rowcount
            if claimed:
                due.append(url_checks.UrlTarget(service.name, test.name, test.url))
    return due
