"""The notification outbox: scheduled once, claimed once, retried without loss."""

from __future__ import annotations

from datetime import timedelta

from models.notification import NotificationStatus
from services import notifications


def _schedule(session, clock, **overrides) -> bool:  # type: ignore[no-untyped-def]
    values = dict(
        record_key="INC-1",
        kind="sla",
        stage="response:50",
        recipient="U1",
        due_at=clock.now(),
        text="half the response time is used",
    )
    values.update(overrides)
    return notifications.schedule(session, **values)


def test_schedule_is_idempotent_per_stage_and_recipient(database, clock):
    with database.session() as session:
        assert _schedule(session, clock) is True
        assert _schedule(session, clock) is False
        assert _schedule(session, clock, recipient="U2") is True
    with database.session() as session:
        assert _schedule(session, clock) is False
        rows = notifications.for_record(session, record_key="INC-1")
    assert [row.recipient for row in rows] == ["U1", "U2"]


def test_claim_takes_due_rows_once_and_lease_expiry_frees_them(database, clock):
    with database.session() as session:
        _schedule(session, clock)
        _schedule(session, clock, stage="response:75", due_at=clock.now() + timedelta(minutes=5))
    with database.session() as session:
        claimed = notifications.claim_due(session, now=clock.now())
    assert [row.stage for row in claimed] == ["response:50"]
    with database.session() as session:
        assert notifications.claim_due(session, now=clock.now()) == []
    clock.advance(minutes=3)  # the first claim's two-minute lease has run out
    with database.session() as session:
        again = notifications.claim_due(session, now=clock.now())
    assert [row.stage for row in again] == ["response:50"]
    assert again[0].attempts == 2


def test_failure_keeps_row_pending_with_backoff_and_retry_after(database, clock):
    with database.session() as session:
        _schedule(session, clock)
    with database.session() as session:
        (row,) = notifications.claim_due(session, now=clock.now())
        next_try = notifications.mark_failed(
            session, id=row.id, now=clock.now(), error="ratelimited", retry_after=120
        )
    assert next_try == clock.now() + timedelta(seconds=120)
    with database.session() as session:
        assert notifications.claim_due(session, now=clock.now() + timedelta(seconds=119)) == []
        (row,) = notifications.claim_due(session, now=clock.now() + timedelta(seconds=120))
        notifications.mark_failed(session, id=row.id, now=clock.now(), error="fatal_error")
        (stored,) = notifications.for_record(session, record_key="INC-1")
    assert stored.state is NotificationStatus.PENDING
    assert notifications.backoff(2) == timedelta(seconds=60)
    assert stored.next_attempt_at == clock.now() + timedelta(seconds=60)
    assert notifications.backoff(30) == notifications.BACKOFF_CAP
    with database.session() as session:
        (row,) = notifications.claim_due(session, now=clock.now() + timedelta(hours=1))
        assert notifications.mark_sent(session, id=row.id, now=clock.now() + timedelta(hours=1))
        (stored,) = notifications.for_record(session, record_key="INC-1")
    assert stored.state is NotificationStatus.SENT
    assert stored.late is True


def test_cancel_for_stage_prefix_leaves_other_stages(database, clock):
    with database.session() as session:
        _schedule(session, clock)
        _schedule(session, clock, stage="resolution:50")
        _schedule(session, clock, kind="page", stage="ladder:0")
    with database.session() as session:
        assert notifications.cancel_for(session, record_key="INC-1", stage_prefix="response:") == 1
        assert notifications.cancel_for(session, record_key="INC-1", kind="page") == 1
        rows = {r.stage: r.state for r in notifications.for_record(session, record_key="INC-1")}
    assert rows == {
        "response:50": NotificationStatus.CANCELLED,
        "resolution:50": NotificationStatus.PENDING,
        "ladder:0": NotificationStatus.CANCELLED,
    }
