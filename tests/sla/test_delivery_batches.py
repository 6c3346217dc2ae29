"""The notifier records what a pass did in batches: every sent row in one statement, every
failed one in another, a user group's members in one insert; during a long pass at least
every second, so a crash can resend at most a second's worth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.db import Database
from models.notification import Notification
from services import notifications
from services.clock import ManualClock
from slackstub import FakeSlack
from tests import statements
from tests.sla.conftest import make_notifier

fresh = statements.fresh  # the fixture
START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


class TickingClock(ManualClock):
    """Moves on `step` every time it is read: a pass that takes real time."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        super().__init__(start)
        self.step = step

    def now(self) -> datetime:
        return self.advance(self.step)


def _queue(db: Database, recipients: list[str], *, due: datetime = START) -> None:
    with db.session() as session:
        notifications.schedule_many(
            session,
            [
                notifications.row(
                    record_key=f"INC-{n}",
                    kind="sla",
                    stage="response:50",
                    recipient=recipient,
                    due_at=due,
                    text=f"warning {n}",
                    now=due,
                )
                for n, recipient in enumerate(recipients, start=1)
            ],
        )


def _rows(db: Database) -> list[Notification]:
    with db.session() as session:
        return list(session.exec(select(Notification).order_by(col(Notification.id))))


def test_a_pass_records_sent_and_failed_rows_in_statements_that_do_not_grow(fresh):
    counts = []
    for due in (2, 20):
        database = fresh()
        # Each to its own channel: no pacing between them.
        _queue(database, [f"C0{n:03d}" for n in range(due)])
        clock = ManualClock(START)
        with FakeSlack() as fake:
            fake.fail_next("chat.postMessage", status=500)
            notifier = make_notifier(fake, database, clock)
            reports = []
            counts.append(
                statements.count_statements(
                    database, lambda n=notifier, r=reports: r.append(n.send_due())
                )
            )
            assert len(fake.calls("chat.postMessage")) == due
        assert (reports[0].sent, reports[0].failed) == (due - 1, 1)
        rows = _rows(database)
        failed = [row for row in rows if row.status == "pending"]
        assert len(failed) == 1 and failed[0].attempts == 1
        assert failed[0].next_attempt_at == START + notifications.BACKOFF_FIRST
        assert failed[0].last_error == "Slack answered 500 fatal_error"
        assert all(row.sent_at == START and not row.late for row in rows if row is not failed[0])
        assert {row.status for row in rows} == {"sent", "pending"}
    assert counts[0] == counts[1], counts


def test_a_user_group_becomes_its_members_in_one_insert(fresh):
    counts = []
    for members in (2, 15):
        database = fresh()
        _queue(database, ["SHEADS"])
        clock = ManualClock(START)
        with FakeSlack() as fake:
            fake.set_usergroup("SHEADS", [f"UHEAD{n:02d}" for n in range(members)])
            notifier = make_notifier(fake, database, clock)
            counts.append(statements.count_statements(database, notifier.send_due))
            # Every member got the message once, each in a direct message.
            assert len(fake.calls("chat.postMessage")) == members
        rows = _rows(database)
        assert [row.recipient for row in rows] == ["SHEADS"] + [
            f"UHEAD{n:02d}" for n in range(members)
        ]
        assert {row.status for row in rows} == {"sent"}
        assert {(row.stage, row.text, row.due_at) for row in rows} == {
            ("response:50", "warning 1", START)
        }
    assert counts[0] == counts[1], counts


def _sent_updates(database: Database, work) -> int:  # type: ignore[no-untyped-def]
    """How many statements recorded rows as sent."""
    return len(
        [
            s
            for s in statements.captured(database, work)
            if s.startswith("UPDATE notification SET status") and "sent_at=" in s
        ]
    )


def test_outcomes_are_recorded_at_least_every_second_during_a_long_pass(database, fake_slack):
    _queue(database, [f"C0{n:03d}" for n in range(10)])
    # A quick pass: everything recorded once, at its end.
    quick = make_notifier(fake_slack, database, ManualClock(START))
    assert _sent_updates(database, quick.send_due) == 1
    assert {row.status for row in _rows(database)} == {"sent"}

    _queue(database, [f"C1{n:03d}" for n in range(10)], due=START + timedelta(hours=1))
    # A slow one: the clock moves 0.3 s at each reading (several readings per post).
    clock = TickingClock(START + timedelta(hours=1), timedelta(milliseconds=300))
    slow = make_notifier(fake_slack, database, clock)
    flushes = _sent_updates(database, slow.send_due)
    assert flushes >= 3
    later = [row for row in _rows(database) if row.recipient.startswith("C1")]
    assert {row.status for row in later} == {"sent"}
    # Each row keeps its own time of sending; none was held a second past it unrecorded.
    times = [row.sent_at for row in later]
    assert len(set(times)) == 10 and times == sorted(times)
