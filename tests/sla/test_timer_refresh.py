"""`sla_timers.refresh`, the one step every change to what a clock depends on goes through: what
a met target cancels (and what it leaves), a lost timer made again, the wake-up it notes, and
the reminder after a breach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from models.sla_policy import SlaPolicy
from models.sla_timer import SlaTimer
from services import incidents, notifications, sla_timers
from tests.sla.conftest import AGENT, new_incident, outbox, sweep


def _timer(session, key: str, target: str) -> SlaTimer:  # type: ignore[no-untyped-def]
    return session.exec(
        sla_timers.select(SlaTimer).where(SlaTimer.record_key == key, SlaTimer.target == target)
    ).one()


def _again(session, timer: SlaTimer, now: datetime, policy) -> SlaTimer:  # type: ignore[no-untyped-def]
    """Refresh the timer with what it already holds: nothing the clock depends on changed."""
    return sla_timers.refresh(
        session,
        record_key=timer.record_key,
        target=timer.target,  # type: ignore[arg-type]
        duration=timedelta(seconds=timer.target_seconds),
        start=timer.started_at,
        calendar_kind=timer.calendar,
        stopped_at=None,
        pauses=[],
        now=now,
        policy=policy,
    )


def test_a_met_target_cancels_only_its_own_waiting_notices(database, clock, policy):
    key = new_incident(database, clock, policy, priority=2)  # 10:00; response 1h, 24x7
    clock.advance(minutes=30)
    sweep(database, clock, policy)  # response:50 queued, not sent
    later = clock.now() + timedelta(hours=1)
    with database.session() as session:
        # Waiting beside it: the other target's notice, and another kind's for this incident
        # whose stage happens to start the same way.
        for kind, stage in (("sla", "resolution:50"), ("survey", "response:asked")):
            notifications.schedule(
                session,
                record_key=key,
                kind=kind,
                stage=stage,
                recipient="UONCALL",
                due_at=later,
                text="waiting",
                now=clock.now(),
            )
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    waiting = {(row.kind, row.stage): row.status for row in outbox(database, key, kind=None)}
    assert waiting == {
        ("sla", "response:50"): "cancelled",
        ("sla", "resolution:50"): "pending",
        ("survey", "response:asked"): "pending",
    }


def test_a_lost_timer_made_again_without_warnings_waits_for_the_breach(database, clock, policy):
    policy = policy.model_copy(update={"sla": SlaPolicy(warn_at=[])})
    key = new_incident(database, clock, policy, priority=2)  # 10:00; resolution 8h, 24x7
    with database.session() as session:
        session.execute(
            delete(SlaTimer).where(SlaTimer.record_key == key, SlaTimer.target == "resolution")
        )
    clock.advance(minutes=5)
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    with database.session() as session:
        again = _timer(session, key, "resolution")
        assert (again.next_stage, again.next_due_at) == (
            100,
            datetime(2026, 11, 27, 18, tzinfo=UTC),
        )


def test_a_refresh_notes_when_the_timer_next_falls_due(database, clock, policy):
    key = new_incident(database, clock, policy, priority=2)  # 10:00; response 1h: 50 % at 10:30
    with database.session() as session:
        session.info.pop(notifications.WAKE_AT_INFO, None)
        timer = _again(session, _timer(session, key, "response"), clock.now(), policy)
        assert timer.next_due_at == datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
        assert session.info.get(notifications.WAKE_AT_INFO) == timer.next_due_at


def test_a_breached_timer_refreshed_waits_for_its_first_reminder(database, clock, policy):
    key = new_incident(database, clock, policy, priority=2)  # response due 11:00
    clock.set(datetime(2026, 11, 27, 11, 0, tzinfo=UTC))
    sweep(database, clock, policy)  # the breach is told; the reminders follow every hour
    clock.advance(minutes=10)
    with database.session() as session:
        timer = _again(session, _timer(session, key, "response"), clock.now(), policy)
        assert timer.next_stage > 100
        assert timer.next_due_at == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
