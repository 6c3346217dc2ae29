"""Delivery through the fake Slack: catching up after downtime, outages, two schedulers."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.db import Database
from schedules.scheduler import build_scheduler, run_once
from services import incidents
from tests.sla.conftest import AGENT, make_notifier, new_incident, outbox, stages


def _posted(fake) -> list:  # type: ignore[no-untyped-def]
    return [call for call in fake.calls("chat.postMessage") if not call.failed]


def test_breach_while_bot_was_down_fires_once_late_and_skips_what_no_longer_applies(
    database, clock, policy, fake_slack, notifier
):
    breached = new_incident(database, clock, policy, priority=1)  # response 15 min
    met = new_incident(database, clock, policy, priority=2)  # response 1 h
    clock.advance(minutes=10)
    with database.session() as session:
        incidents.acknowledge(session, key=met, actor=AGENT, now=clock.now(), policy=policy)
    clock.advance(hours=1, minutes=20)  # 11:30; the bot ran no sweep since 10:00
    run_once(db=database, clock=clock, policy=policy, notifier=notifier)
    rows = [row for row in outbox(database, breached) if row.stage.startswith("response")]
    # 50 %, 75 % and 100 % and the first reminder all passed unseen: the breach is told once.
    assert {row.stage for row in rows} == {"response:100"}
    assert all(row.late and row.status == "sent" for row in rows)
    assert "Sent late" in rows[0].text
    assert not [row for row in outbox(database, met) if row.stage.startswith("response")]
    # The breach went to the escalation channel, the on-call and the team lead, once each.
    channels = sorted(call.args["channel"] for call in _posted(fake_slack))
    assert channels == sorted(["incident-escalations", "DUONCALL", "DULEAD"])
    for _ in range(3):
        run_once(db=database, clock=clock, policy=policy, notifier=notifier)
    assert len(_posted(fake_slack)) == 3


def test_slack_outage_loses_nothing_and_sends_once_when_back(
    database, clock, policy, fake_slack, notifier
):
    key = new_incident(database, clock, policy, priority=2)
    clock.advance(minutes=30)
    fake_slack.down(True)
    report = run_once(db=database, clock=clock, policy=policy, notifier=notifier)
    assert report.sla_fired == 1 and report.sent.failed == 1 and report.sent.sent == 0
    (row,) = outbox(database, key)
    assert row.status == "pending" and "503" in (row.last_error or "")
    fake_slack.down(False)
    fake_slack.fail_next("chat.postMessage", status=500)
    clock.advance(seconds=31)
    report = run_once(db=database, clock=clock, policy=policy, notifier=notifier)
    assert report.sent.failed == 1
    fake_slack.fail_next("chat.postMessage", status=429, headers={"Retry-After": "300"})
    clock.advance(minutes=2)
    report = run_once(db=database, clock=clock, policy=policy, notifier=notifier)
    assert report.sent.failed == 1
    (row,) = outbox(database, key)
    assert row.status == "pending" and row.next_attempt_at == clock.now() + timedelta(seconds=300)
    clock.advance(seconds=299)
    assert run_once(db=database, clock=clock, policy=policy, notifier=notifier).sent.sent == 0
    clock.advance(seconds=1)
    assert run_once(db=database, clock=clock, policy=policy, notifier=notifier).sent.sent == 1
    (row,) = outbox(database, key)
    assert row.status == "sent" and row.attempts == 4
    assert len(_posted(fake_slack)) == 1
    assert _posted(fake_slack)[0].args["channel"] == "DUONCALL"
    assert "50 % of the response time" in _posted(fake_slack)[0].args["text"]


def test_two_schedulers_sweeping_at_once_send_each_notification_once(
    database, clock, policy, fake_slack
):
    keys = [new_incident(database, clock, policy, priority=1) for _ in range(25)]
    clock.advance(minutes=16)  # every response target breached: three recipients each
    url = database.engine.url.render_as_string(hide_password=False)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler() -> None:
        db = Database.from_url(url)
        try:
            notifier = make_notifier(fake_slack, db, clock)
            barrier.wait()
            for _ in range(3):
                run_once(db=db, clock=clock, policy=policy, notifier=notifier)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            db.dispose()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    # Each channel gets one post per second (Slack's pace): the rest drain as time passes.
    notifier = make_notifier(fake_slack, database, clock)
    for _ in range(30):
        clock.advance(seconds=1)
        run_once(db=database, clock=clock, policy=policy, notifier=notifier)
    posted = _posted(fake_slack)
    assert len(posted) == 25 * 3
    texts = [(call.args["channel"], call.args["text"]) for call in posted]
    assert len(set(texts)) == len(texts)
    for key in keys:
        assert stages(database, key) == {
            "response:100": ["incident-escalations", "UONCALL", "ULEAD"]
        }
        assert all(row.status == "sent" for row in outbox(database, key))


def test_scheduler_is_built_with_every_job_and_safe_defaults(database, clock, policy, notifier):
    scheduler = build_scheduler(
        db=database, clock=clock, policy=policy, notifier=notifier, interval_seconds=5
    )
    scheduler.start(paused=True)  # job defaults are applied when the scheduler starts
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert set(jobs) == {
        "sla_sweep",
        "paging_sweep",
        "auto_close",
        "availability_tests",
        "change_reminders",
        "announce_missed",
        "refresh_stale",
        "url_checks",
        "send_notifications",
        "relationships",
        "sms_reviews",
    }
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 30
    try:
        build_scheduler(
            db=database, clock=clock, policy=policy, notifier=notifier, interval_seconds=1
        )
    except ValueError as error:
        assert "at least 5" in str(error)
    else:
        raise AssertionError("an interval under 5 s was accepted")


def test_auto_close_runs_in_run_once(database, clock, policy, notifier):
    key = new_incident(database, clock, policy, priority=3)
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
        incidents.resolve(
            session, key=key, code="fixed", note="done", actor=AGENT, now=clock.now(), policy=policy
        )
    clock.advance(days=3)
    report = run_once(db=database, clock=clock, policy=policy, notifier=notifier)
    assert report.closed == [key]
    with database.session() as session:
        assert incidents.get(session, key=key).status == "closed"
