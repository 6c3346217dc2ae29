"""The set-based change and release reminder sweep writes exactly the outbox rows the per-row
sweep it replaced wrote, on the same data, and its statement count does not grow with the
records it looks after or the reminders it queues."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select

from bot.db import Database
from models.notification import Notification
from models.policy import Policy
from services import change_reminders, changes, notifications, releases
from services.clock import ManualClock
from services.permissions import Actor, Role
from tests import statements
from tests.changes import per_row_reminders
from tests.changes.conftest import REQUESTER, WINDOW_END, WINDOW_START, change_input

fresh = statements.fresh  # the fixture
PLANNER = Actor("UMGR1", frozenset({Role.AGENT}))
CHANGE_STATES = [
    "approved",
    "scheduled",
    "implementing",
    "review",
    "closed",
    "rejected",
    "cancelled",
    "awaiting_approval",
]
Sweep = Callable[..., int]


def _store(db: Database, clock: ManualClock, policy: Policy, changes_count: int) -> None:
    """`changes_count` changes cycling through every state, windows an hour apart, and three
    releases (planned, scheduled, deployed)."""
    with db.session() as session:
        for n in range(changes_count):
            shift = timedelta(hours=n)
            change = changes.create(
                session,
                data=change_input(
                    planned_start=WINDOW_START + shift,
                    planned_end=WINDOW_END + shift,
                    implementer=f"UIMPL{n}",
                    title=f"Change <{n}> & co",
                ),
                requester=REQUESTER,
                now=clock.now(),
                policy=policy,
            )
            session.execute(
                text("UPDATE change SET status = :s, implemented_at = :at WHERE id = :id"),
                {
                    "s": CHANGE_STATES[n % len(CHANGE_STATES)],
                    "at": (WINDOW_END + shift) if n % len(CHANGE_STATES) == 3 else None,
                    "id": change.id,
                },
            )
        for n, status in enumerate(("planned", "scheduled", "deployed")):
            release = releases.create(
                session,
                name=f"Payments <{n}>",
                version=f"2.{n}",
                change_keys=[],
                release_manager=PLANNER.user_id,
                release_plan="Blue/green",
                backout_plan="Switch back",
                actor=PLANNER,
                now=clock.now(),
                window_start=WINDOW_START + timedelta(hours=n),
                window_end=WINDOW_END + timedelta(hours=n),
            )
            session.execute(
                text("UPDATE release SET status = :s WHERE id = :id"),
                {"s": status, "id": release.id},
            )
        # Another kind's reminder (an agreement's review) is none of this sweep's business.
        notifications.schedule(
            session,
            record_key="SLA-1",
            kind="reminder",
            stage="review:7d@20261130T090000Z",
            recipient="UOWNER",
            due_at=WINDOW_START,
            text="review",
            now=clock.now(),
        )


def _scenario(db: Database, policy: Policy, sweep: Sweep) -> list[int]:
    clock = ManualClock(WINDOW_START - timedelta(days=3))
    _store(db, clock, policy, 16)
    added = []

    def run() -> None:
        with db.session() as session:
            added.append(sweep(session, now=clock.now(), policy=policy))

    run()
    run()  # again at the same moment: nothing new
    with db.session() as session:
        # Moves no handler saw: started, closed, rescheduled, a release cancelled.
        session.execute(text("UPDATE change SET status = 'implementing' WHERE id = 1"))
        session.execute(text("UPDATE change SET status = 'closed' WHERE id = 2"))
        session.execute(
            text("UPDATE change SET planned_start = :s, planned_end = :e WHERE id = 9"),
            {"s": WINDOW_START + timedelta(days=1), "e": WINDOW_END + timedelta(days=1)},
        )
        session.execute(text("UPDATE release SET status = 'cancelled' WHERE id = 2"))
    run()
    # Some reminders go out; then time passes beyond some windows (stale ones are skipped).
    clock.set(WINDOW_START - timedelta(hours=1))
    with db.session() as session:
        for row in notifications.claim_due(session, now=clock.now(), limit=5):
            notifications.mark_sent(session, id=row.id, now=clock.now())
    run()
    clock.set(WINDOW_START + timedelta(hours=4))
    with db.session() as session:
        session.execute(text("UPDATE change SET status = 'review' WHERE id = 10"))
    run()
    clock.set(WINDOW_START + timedelta(days=3))
    run()
    return added


def _rows(db: Database) -> list[tuple[Any, ...]]:
    with db.session() as session:
        return [
            tuple(getattr(row, c.name) for c in Notification.__table__.columns if c.name != "id")
            for row in session.exec(
                select(Notification).order_by(
                    col(Notification.record_key), col(Notification.stage), Notification.recipient
                )
            )
        ]


def test_set_based_sweep_writes_what_the_per_row_sweep_wrote(fresh, policy: Policy) -> None:
    database = fresh()
    before = _scenario(database, policy, per_row_reminders.sweep)
    expected = _rows(database)
    database = fresh()
    after = _scenario(database, policy, change_reminders.sweep)
    assert after == before
    assert _rows(database) == expected
    # The scenario exercised the sweep: reminders added, sent, cancelled, and left alone.
    assert before[0] > 10 and before[1] == 0
    statuses = {row[5] for row in expected}
    assert {"pending", "sent", "cancelled"} <= statuses, statuses
    assert ("SLA-1", "pending") in {(row[0], row[5]) for row in expected}


def test_sweep_statement_count_does_not_grow_with_the_records(fresh, policy: Policy) -> None:
    counts = []
    for records in (2, 40):
        database = fresh()
        clock = ManualClock(WINDOW_START - timedelta(days=3))
        _store(database, clock, policy, records)

        def run(database: Database = database, clock: ManualClock = clock) -> None:
            with database.session() as session:
                assert change_reminders.sweep(session, now=clock.now(), policy=policy) > 0
            # Records moved on: what they had pending is cancelled, still in one statement.
            with database.session() as session:
                session.execute(text("UPDATE change SET status = 'closed'"))
            with database.session() as session:
                change_reminders.sweep(session, now=clock.now(), policy=policy)

        counts.append(statements.count_statements(database, run, skip="UPDATE change SET"))
        with database.session() as session:
            rows = session.exec(select(Notification).where(Notification.kind == "reminder"))
            assert {row.status for row in rows if row.record_key.startswith("CHG-")} == {
                "cancelled"
            }
    assert counts[0] == counts[1], counts


