"""The notifier keeps Slack's pace of one post per channel per second, and the scheduler's
wake-up is set at the next instant anything falls due."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import select

from models.notification import Notification
from schedules.wakeup import Wakeup
from services import notifications
from services.clock import ManualClock
from tests.sla.conftest import make_notifier, new_incident


def _burst(database, clock, channel: str, count: int) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        notifications.schedule_many(
            session,
            [
                notifications.row(
                    record_key=f"INC-{n}",
                    kind="sla",
                    stage="response:100",
                    recipient=channel,
                    due_at=clock.now(),
                    text=f"INC-{n} breached",
                )
                for n in range(1, count + 1)
            ],
        )


def test_a_burst_to_one_channel_is_spread_one_post_a_second(database, clock, fake_slack):
    notifier = make_notifier(fake_slack, database, clock)
    _burst(database, clock, "C0STORM", 7)
    _burst(database, clock, "C0QUIET", 1)
    report = notifier.send_due()
    # Slack's short burst (three) per channel now; the storm's other four wait their turn,
    # a second apart; the quiet channel is not held back by the storm.
    assert report.sent == 4 and report.deferred == 4 and report.failed == 0
    with database.session() as session:
        waiting = sorted(
            row.next_attempt_at
            for row in session.exec(select(Notification).where(Notification.status == "pending"))
        )
    assert waiting == [clock.now() + timedelta(seconds=s) for s in (1, 2, 3, 4)]
    assert notifier.send_due().sent == 0  # nothing is due before its second
    for expected in range(5, 9):
        clock.advance(seconds=1)
        assert notifier.send_due().sent == 1
        assert len(fake_slack.calls("chat.postMessage")) == expected
    texts = [call.args["text"] for call in fake_slack.calls("chat.postMessage")]
    assert sorted(texts) == sorted([f"INC-{n} breached" for n in range(1, 8)] + ["INC-1 breached"])
    assert all(not call.failed for call in fake_slack.calls("chat.postMessage"))


def test_a_429_is_retried_after_slacks_retry_after_not_the_error_backoff(
    database, clock, fake_slack
):
    notifier = make_notifier(fake_slack, database, clock)
    notifier.client.retry_handlers.clear()  # see the 429 here rather than inside slack_sdk
    _burst(database, clock, "C0BUSY", 2)
    fake_slack.fail_next("chat.postMessage", status=429, headers={"Retry-After": "3"})
    report = notifier.send_due()
    # The first is refused; the second then waits as long as Slack asked, too.
    assert report.rate_limited == 1 and report.sent == 0 and report.deferred == 1
    clock.advance(seconds=2)
    assert notifier.send_due().sent == 0
    # Then one a second again, with no burst straight after a refusal.
    clock.advance(seconds=1)
    assert notifier.send_due().sent == 1
    clock.advance(seconds=1)
    assert notifier.send_due().sent == 1


def test_the_wakeup_is_set_at_the_next_deadline_a_commit_makes(database, policy):
    # The wake-up runs on the real clock, so the store's clock is set an hour ahead of it.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    clock = ManualClock(start)
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    runs: list[int] = []
    try:
        wakeup = Wakeup(scheduler, database, lambda: runs.append(1))
        database.after_commit.append(wakeup.deadline_noted)
        assert wakeup.schedule_next() is None and wakeup.next_at is None
        new_incident(database, clock, policy, priority=2)  # response 1 h: 50 % in 30 min
        first = start + timedelta(minutes=30)
        assert wakeup.next_at == first
        assert scheduler.get_job("wakeup").next_run_time == first
        new_incident(database, clock, policy, priority=1)  # response 15 min: 50 % in 7.5 min
        assert wakeup.next_at == start + timedelta(minutes=7, seconds=30)
        new_incident(database, clock, policy, priority=2)  # later: the earlier one stays
        assert scheduler.get_job("wakeup").next_run_time == wakeup.next_at
        assert wakeup.next_at == start + timedelta(minutes=7, seconds=30)
        wakeup._run()  # what the job does when it fires: run, then set again from the store
        assert runs == [1]
        assert wakeup.next_at == start + timedelta(minutes=7, seconds=30)
    finally:
        database.after_commit.clear()
        scheduler.shutdown(wait=False)


def test_a_wakeup_firing_while_one_runs_is_run_right_after_it_never_dropped(database):
    # Under load a run can still be going when the next wake-up fires. APScheduler would skip
    # a job whose instances are all busy (and a skipped one-shot job is gone until the next
    # interval sweep): the second run returns at once and the first goes round once more.
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    entered, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def job() -> None:
        runs.append(1)
        if len(runs) == 1:
            entered.set()
            release.wait(10)

    try:
        wakeup = Wakeup(scheduler, database, job)
        first = threading.Thread(target=wakeup._run)
        first.start()
        assert entered.wait(10)
        wakeup._run()  # fires twice meanwhile: both return at once
        wakeup._run()
        assert runs == [1]
        release.set()
        first.join(10)
        assert runs == [1, 1]  # once more for both, not dropped
        wakeup.at(datetime.now(UTC) + timedelta(hours=1))
        job_set = scheduler.get_job("wakeup")
        assert job_set.misfire_grace_time is None and job_set.executor == "wakeup"
    finally:
        release.set()
        scheduler.shutdown(wait=False)
