"""Change reminders go through the outbox and the notifier: each fires once, at its time, and
those that no longer apply are never sent."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk import WebClient

from bot.db import Database
from bot.notifier import Notifier
from models.policy import Policy
from schedules.scheduler import run_once
from services import changes
from services.clock import ManualClock
from services.permissions import Actor
from tests.changes.conftest import CAB, REQUESTER, WINDOW_END, WINDOW_START, Submit, approve


def _dms(fake_slack, user: str) -> list[str]:
    return [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == f"D{user}"
    ]


def test_change_reminders_fire_once_each_at_their_time(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit, fake_slack
) -> None:
    notifier = Notifier(WebClient(token="xoxb-test", base_url=fake_slack.url), database, clock)
    key = awaiting()
    approve(database, policy, clock, key, "UAPP1", {CAB})
    approve(database, policy, clock, key, "UAPP2", {CAB})

    def tick() -> None:
        for _ in range(2):  # a second sweep at the same moment must send nothing more
            run_once(db=database, clock=clock, policy=policy, notifier=notifier)

    tick()
    assert _dms(fake_slack, "UIMPL1") == []  # nothing due yet (1 day before is Nov 30 20:00)
    clock.set(WINDOW_START - timedelta(days=1))
    tick()
    assert len(_dms(fake_slack, "UIMPL1")) == 1 and "opens in 1d" in _dms(fake_slack, "UIMPL1")[0]
    clock.set(WINDOW_START - timedelta(hours=1))
    tick()
    assert len(_dms(fake_slack, "UIMPL1")) == 2 and "opens in 1h" in _dms(fake_slack, "UIMPL1")[1]
    clock.set(WINDOW_START)
    with database.session() as session:
        changes.schedule(session, key=key, actor=Actor("UIMPL1"), now=clock.now(), policy=policy)
    tick()
    assert "opens now" in _dms(fake_slack, "UIMPL1")[2]
    with database.session() as session:
        changes.start_implementation(session, key=key, actor=Actor("UIMPL1"), now=clock.now())
        changes.complete_implementation(session, key=key, actor=Actor("UIMPL1"), now=clock.now())
    # Completed before the planned end: the overrun reminder no longer applies.
    clock.set(WINDOW_END + timedelta(minutes=1))
    tick()
    assert len(_dms(fake_slack, "UIMPL1")) == 3
    assert not any("still being implemented" in text for text in _dms(fake_slack, "UIMPL1"))
    clock.set(WINDOW_START + timedelta(days=2, minutes=1))
    tick()
    reviews = [t for t in _dms(fake_slack, REQUESTER) if "post-implementation review" in t]
    assert len(reviews) == 1


def test_overrun_reminder_when_still_implementing(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit, fake_slack
) -> None:
    notifier = Notifier(WebClient(token="xoxb-test", base_url=fake_slack.url), database, clock)
    key = awaiting()
    approve(database, policy, clock, key, "UAPP1", {CAB})
    approve(database, policy, clock, key, "UAPP2", {CAB})
    clock.set(WINDOW_START)
    with database.session() as session:
        changes.schedule(session, key=key, actor=Actor("UIMPL1"), now=clock.now(), policy=policy)
        changes.start_implementation(session, key=key, actor=Actor("UIMPL1"), now=clock.now())
    run_once(db=database, clock=clock, policy=policy, notifier=notifier)
    clock.set(WINDOW_END + timedelta(minutes=1))
    for _ in range(3):
        run_once(db=database, clock=clock, policy=policy, notifier=notifier)
    overruns = [t for t in _dms(fake_slack, "UIMPL1") if "still being implemented" in t]
    assert len(overruns) == 1
