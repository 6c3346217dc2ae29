"""When something breaks: a broken SLA timer, a job that raises, Slack refusing connections, a
sender that claimed notifications and died. Each is contained and nothing is lost."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

from sqlalchemy import text, update
from sqlmodel import select

from bot.settings import load_settings
from bot.slack import make_web_client
from models.notification import Notification
from models.sla_timer import SlaTimer
from schedules.scheduler import build_scheduler, run_once
from services import notifications, sla_timers
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.sla.conftest import make_notifier, new_incident, outbox, stages, sweep


def _timer(database, key, target):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return session.exec(
            select(SlaTimer).where(SlaTimer.record_key == key, SlaTimer.target == target)
        ).one()


def test_a_broken_sla_timer_is_set_aside_and_the_others_still_fire(database, clock, policy, caplog):
    broken = new_incident(database, clock, policy, priority=2)
    healthy = new_incident(database, clock, policy, priority=2)
    # A row no code path writes: a zero target makes the stage arithmetic divide by zero.
    with database.session() as session:
        session.execute(
            update(SlaTimer)
            .where(SlaTimer.record_key == broken, SlaTimer.target == "response")
            .values(target_seconds=0)
        )
    clock.advance(minutes=30)
    with caplog.at_level(logging.ERROR, logger="services.sla_timers"):
        fired = sweep(database, clock, policy)
    assert [(f.record_key, f.target, f.stage) for f in fired] == [
        (healthy, "response", "response:50")
    ]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        f"SLA timer {broken} response could not be processed"
    ]
    # Whatever the broken timer had written was rolled back; it is retried later, not at
    # every sweep, so it cannot hold up the queue.
    assert stages(database, broken) == {}
    assert stages(database, healthy) == {"response:50": ["UONCALL"]}
    assert _timer(database, broken, "response").next_due_at == clock.now() + (
        sla_timers.RETRY_BROKEN_AFTER
    )
    caplog.clear()
    clock.advance(minutes=1)
    with caplog.at_level(logging.ERROR, logger="services.sla_timers"):
        sweep(database, clock, policy)
    assert "could not be processed" not in caplog.text
    # Repaired, it catches up at its next look.
    with database.session() as session:
        session.execute(
            update(SlaTimer)
            .where(SlaTimer.record_key == broken, SlaTimer.target == "response")
            .values(target_seconds=3600)
        )
    clock.advance(sla_timers.RETRY_BROKEN_AFTER)
    fired = sweep(database, clock, policy)
    assert (broken, "response") in [(f.record_key, f.target) for f in fired]


def test_a_job_that_raises_is_logged_and_the_other_jobs_still_run(
    database, clock, policy, fake_slack, notifier, caplog
):
    key = new_incident(database, clock, policy, priority=2)
    clock.advance(minutes=30)
    # The paging sweep's table is gone (a failed deploy, a lost grant): that job raises.
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE page RENAME TO page_away"))
    try:
        with caplog.at_level(logging.ERROR, logger="schedules.scheduler"):
            report = run_once(db=database, clock=clock, policy=policy, notifier=notifier)
            paging_job = build_scheduler(
                db=database, clock=clock, policy=policy, notifier=notifier
            ).get_job("paging_sweep")
            assert paging_job.func() is None  # raised inside, and did not escape
    finally:
        with database.engine.begin() as connection:
            connection.execute(text("ALTER TABLE page_away RENAME TO page"))
    assert "scheduled job paging failed; it runs again at the next tick" in caplog.text
    assert "scheduled job paging_sweep failed" in caplog.text
    assert report.escalated == 0
    # The SLA sweep before it and the sending after it did their work.
    assert report.sla_fired == 1 and report.sent.sent == 1
    (row,) = outbox(database, key)
    assert row.status == "sent"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_slack_refusing_connections_leaves_the_notification_pending(
    database, clock, policy, fake_slack
):
    key = new_incident(database, clock, policy, priority=2)
    clock.advance(minutes=30)
    with database.session() as session:
        assert len(sla_timers.sweep(session, now=clock.now(), policy=policy)) == 1
    refusing = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"http://127.0.0.1:{_closed_port()}/api/",
        SLACK_RETRY_BACKOFF_SECONDS=0.001,
        _env_file=None,
    )
    from bot.notifier import Notifier

    report = Notifier(make_web_client(refusing), database, clock).send_due()
    assert (report.sent, report.failed) == (0, 1)
    assert report.errors == ["Slack unreachable: URLError"]
    (row,) = outbox(database, key)
    assert (row.status, row.attempts, row.last_error) == (
        "pending",
        1,
        "Slack unreachable: URLError",
    )
    assert row.next_attempt_at == clock.now() + notifications.BACKOFF_FIRST
    assert fake_slack.calls("chat.postMessage") == []
    # Slack back: sent once, at the next try, not before.
    back = make_notifier(fake_slack, database, clock)
    clock.advance(notifications.BACKOFF_FIRST - timedelta(seconds=1))
    assert back.send_due().sent == 0
    clock.advance(seconds=1)
    assert back.send_due().sent == 1
    (row,) = outbox(database, key)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_rows_a_dead_sender_claimed_are_sent_once_its_lease_expires(
    database, clock, policy, fake_slack, notifier
):
    key = new_incident(database, clock, policy, priority=2)
    clock.advance(minutes=30)
    sweep(database, clock, policy)
    # Another process claimed the row and died before sending it.
    with database.session() as session:
        (claimed,) = notifications.claim_due(session, now=clock.now())
    assert claimed.status == "sending"
    assert notifier.send_due().sent == 0
    clock.advance(minutes=1, seconds=59)
    assert notifier.send_due().sent == 0
    assert fake_slack.calls("chat.postMessage") == []
    clock.advance(seconds=1)  # the two-minute lease has run out
    assert notifier.send_due().sent == 1
    (row,) = outbox(database, key)
    assert (row.status, row.attempts) == ("sent", 2)
    # A sent row is never claimed again, however long after.
    clock.advance(days=1)
    assert notifier.send_due().sent == 0
    with database.session() as session:
        assert notifications.claim_due(session, now=clock.now()) == []
        assert session.exec(select(Notification.status)).all() == ["sent"]
    assert len(fake_slack.calls("chat.postMessage")) == 1
