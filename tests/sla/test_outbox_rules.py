"""The outbox's finishing rules: a row that is no longer ours is left alone, and Retry-After
only ever lengthens the wait."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from models.notification import Notification
from services import notifications


def _claimed(database, clock):  # type: ignore[no-untyped-def]
    with database.session() as session:
        notifications.schedule(
            session,
            record_key="INC-1",
            kind="sla",
            stage="response:50",
            recipient="U1",
            due_at=clock.now(),
            text="half the response time is used",
        )
    with database.session() as session:
        (row,) = notifications.claim_due(session, now=clock.now())
        return row.id


def _stored(database):  # type: ignore[no-untyped-def]
    with database.session() as session:
        (row,) = notifications.for_record(session, record_key="INC-1")
        return row


def test_a_failure_reported_after_the_row_was_sent_changes_nothing(database, clock):
    row_id = _claimed(database, clock)
    with database.session() as session:
        assert notifications.mark_sent(session, id=row_id, now=clock.now())
    with database.session() as session:
        assert notifications.mark_failed(session, id=row_id, now=clock.now(), error="late") is None
        assert notifications.mark_sent(session, id=row_id, now=clock.now()) is False
    stored = _stored(database)
    assert (stored.status, stored.last_error) == ("sent", None)


def test_a_cancelled_or_missing_row_is_not_ours_to_finish(database, clock):
    row_id = _claimed(database, clock)
    with database.session() as session:
        session.execute(text("UPDATE notification SET status = 'cancelled'"))
    with database.session() as session:
        assert notifications.mark_failed(session, id=row_id, now=clock.now(), error="x") is None
        assert notifications.mark_sent(session, id=row_id, now=clock.now()) is False
        assert (
            notifications.mark_failed(session, id=row_id + 99, now=clock.now(), error="x") is None
        )
    assert _stored(database).status == "cancelled"


def test_finishing_reads_the_row_afresh_not_what_the_session_holds(database, clock):
    row_id = _claimed(database, clock)
    with database.session() as session:
        held = session.get(Notification, row_id)
        assert held is not None and held.status == "sending"
        # Another sender finished it meanwhile (written past this session's identity map).
        session.connection().execute(text("UPDATE notification SET status = 'sent'"))
        assert notifications.mark_failed(session, id=row_id, now=clock.now(), error="x") is None
        assert notifications.mark_sent(session, id=row_id, now=clock.now()) is False
    assert _stored(database).status == "sent"


def test_retry_after_lengthens_the_wait_never_shortens_it(database, clock):
    row_id = _claimed(database, clock)
    with database.session() as session:
        at = notifications.mark_failed(
            session, id=row_id, now=clock.now(), error="ratelimited", retry_after=31
        )
    assert at == clock.now() + timedelta(seconds=31)
    assert _stored(database).last_error == "ratelimited"
    with database.session() as session:
        (row,) = notifications.claim_due(session, now=clock.now() + timedelta(seconds=31))
        # Second failure: the back-off (60 s) is longer than what Slack asked for.
        at = notifications.mark_failed(
            session, id=row.id, now=clock.now(), error="x" * 600, retry_after=5
        )
    assert at == clock.now() + timedelta(seconds=60)
    assert _stored(database).last_error == "x" * notifications.ERROR_MAX


def test_backoff_doubles_from_thirty_seconds_up_to_half_an_hour():
    assert [notifications.backoff(n).total_seconds() for n in range(0, 8)] == [
        30,
        30,
        60,
        120,
        240,
        480,
        960,
        1800,
    ]
    assert notifications.backoff(10_000) == notifications.BACKOFF_CAP


def _queue(session, key, stage, *, due_at, kind="sla"):  # type: ignore[no-untyped-def]
    notifications.schedule(
        session, record_key=key, kind=kind, stage=stage, recipient="U1", due_at=due_at, text=stage
    )


def test_cancel_for_takes_the_prefix_literally_and_only_pending_rows_of_that_record(
    database, clock
):
    stages = ["a_b:1", "axb:1", "a%:1", "abc:1", "a\\:1", "response:50", "sent:1"]
    with database.session() as session:
        for stage in stages:
            _queue(session, "INC-1", stage, due_at=clock.now())
        _queue(session, "INC-2", "a_b:1", due_at=clock.now())
        _queue(session, "INC-1", "a_b:2", due_at=clock.now(), kind="reminder")
    with database.session() as session:
        (sent,) = [
            r for r in notifications.for_record(session, record_key="INC-1") if r.stage == "sent:1"
        ]
        notifications.mark_sent(session, id=sent.id, now=clock.now())
    with database.session() as session:
        # "_" and "%" are no wildcards, "\" is no escape: each prefix matches itself only.
        assert (
            notifications.cancel_for(session, record_key="INC-1", kind="sla", stage_prefix="a_b")
            == 1
        )
        assert notifications.cancel_for(session, record_key="INC-1", stage_prefix="a%") == 1
        assert notifications.cancel_for(session, record_key="INC-1", stage_prefix="a\\") == 1
        assert notifications.cancel_for(session, record_key="INC-1", stage_prefix="sent") == 0
    with database.session() as session:
        status = {
            (r.record_key, r.kind, r.stage): r.status
            for key in ("INC-1", "INC-2")
            for r in notifications.for_record(session, record_key=key)
        }
    assert status == {
        ("INC-1", "sla", "a_b:1"): "cancelled",
        ("INC-1", "sla", "axb:1"): "pending",
        ("INC-1", "sla", "a%:1"): "cancelled",
        ("INC-1", "sla", "abc:1"): "pending",
        ("INC-1", "sla", "a\\:1"): "cancelled",
        ("INC-1", "sla", "response:50"): "pending",
        ("INC-1", "sla", "sent:1"): "sent",
        ("INC-2", "sla", "a_b:1"): "pending",
        ("INC-1", "reminder", "a_b:2"): "pending",
    }
    # Without a prefix or kind: everything still pending of that record, nothing else.
    with database.session() as session:
        assert notifications.cancel_for(session, record_key="INC-1") == 4
        assert [r.status for r in notifications.for_record(session, record_key="INC-2")] == [
            "pending"
        ]


def test_mark_sent_reads_the_row_afresh_and_records_when_and_whether_late(database, clock):
    row_id = _claimed(database, clock)
    with database.session() as session:
        held = session.get(Notification, row_id)
        assert held is not None and held.status == "sending"
        session.connection().execute(text("UPDATE notification SET status = 'cancelled'"))
        assert notifications.mark_sent(session, id=row_id, now=clock.now()) is False
    assert _stored(database).status == "cancelled"
    with database.session() as session:
        session.execute(text("UPDATE notification SET status = 'sending'"))
    # Exactly the late grace after it was due is still on time.
    sent_at = clock.now() + notifications.LATE_GRACE
    with database.session() as session:
        assert notifications.mark_sent(session, id=row_id, now=sent_at) is True
    stored = _stored(database)
    assert (stored.status, stored.sent_at, stored.late) == ("sent", sent_at, False)


def test_a_row_sent_a_second_past_the_late_grace_is_late(database, clock):
    row_id = _claimed(database, clock)
    sent_at = clock.now() + notifications.LATE_GRACE + timedelta(seconds=1)
    with database.session() as session:
        assert notifications.mark_sent(session, id=row_id, now=sent_at) is True
    assert _stored(database).late is True


def test_claim_takes_the_earliest_due_first_up_to_the_limit(database, clock):
    with database.session() as session:
        # Queued latest-due first, so id order and due order disagree.
        for minutes in (1, 2, 3):
            _queue(
                session,
                "INC-1",
                f"due:{minutes}",
                due_at=clock.now() - timedelta(minutes=minutes),
            )
    with database.session() as session:
        first = notifications.claim_due(session, now=clock.now(), limit=1)
        second = notifications.claim_due(session, now=clock.now(), limit=1)
        rest = notifications.claim_due(session, now=clock.now(), limit=5)
    assert [r.stage for r in first] == ["due:3"]
    assert [r.stage for r in second] == ["due:2"]
    assert [r.stage for r in rest] == ["due:1"]


def test_claim_takes_a_hundred_rows_by_default(database, clock):
    with database.session() as session:
        for n in range(101):
            _queue(session, "INC-1", f"n:{n:03}", due_at=clock.now())
    with database.session() as session:
        assert len(notifications.claim_due(session, now=clock.now())) == 100
        assert len(notifications.claim_due(session, now=clock.now(), limit=2)) == 1


def test_late_by_and_the_count_of_late_rows_between_two_instants(database, clock):
    start = clock.now()
    with database.session() as session:
        for n in range(4):
            _queue(session, "INC-1", f"s:{n}", due_at=start)
    with database.session() as session:
        rows = notifications.claim_due(session, now=start)
        for row, minutes_late in zip(rows, [0, 2, 5, 30], strict=True):
            notifications.mark_sent(session, id=row.id, now=start + timedelta(minutes=minutes_late))
    with database.session() as session:
        stored = notifications.for_record(session, record_key="INC-1")
        assert [notifications.late_by(row) for row in stored] == [
            None,
            timedelta(minutes=2),
            timedelta(minutes=5),
            timedelta(minutes=30),
        ]
        # Both ends included; only late rows count.
        count = notifications.count_late
        assert count(session, since=start, until=start + timedelta(minutes=30)) == 3
        assert (
            count(session, since=start + timedelta(minutes=2), until=start + timedelta(minutes=5))
            == 2
        )
        assert (
            count(session, since=start + timedelta(minutes=3), until=start + timedelta(minutes=29))
            == 1
        )
        assert (
            count(session, since=start + timedelta(minutes=31), until=start + timedelta(days=1))
            == 0
        )
        # A row marked late but never sent, or sent before it was due, is not late by anything.
        pending = Notification(
            record_key="X",
            kind="k",
            stage="s",
            recipient="U1",
            due_at=start,
            late=True,
            text="t",
            next_attempt_at=start,
            created_at=start,
        )
        assert notifications.late_by(pending) is None
        early = Notification(
            record_key="X",
            kind="k",
            stage="s",
            recipient="U1",
            due_at=start,
            late=True,
            text="t",
            next_attempt_at=start,
            created_at=start,
            sent_at=start - timedelta(minutes=1),
        )
        assert notifications.late_by(early) == timedelta(0)
