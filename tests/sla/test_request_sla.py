"""Service requests run on the same SLA timers and notifications as incidents."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.policy import parse_policy
from models.notification import Notification
from models.sla_timer import SlaTimer
from services import requests, sla_timers
from services.permissions import Actor


def APPROVERS(ref: str) -> frozenset[str]:  # noqa: N802 - stands in for Directory.members
    """The approver group's members, as the directory would read them from Slack."""
    return frozenset({"U0BOSS", "U0BOSS2"}) if ref == "S0APPROVERS" else frozenset({ref})


POLICY = parse_policy(
    """
[[teams]]
name = "it"
lead = "U0ITLEAD"
on_call = "U0ITONCALL"

[sla.calendar]
timezone = "UTC"

[[catalog.items]]
id = "access"
name = "Access to a system"
approval = "S0APPROVERS"
fulfilment_team = "it"
response_target = "1h"
fulfilment_target = "2h"

[[catalog.items.fields]]
name = "system"
label = "System"
kind = "text"
required = true
"""
)
FULFILMENT = {"policy": POLICY, "members_of": APPROVERS}


def _sent(session, key):  # type: ignore[no-untyped-def]
    rows = session.exec(select(Notification).where(Notification.record_key == key)).all()
    return sorted((row.stage, row.recipient) for row in rows)


def test_request_clock_waits_for_approval_then_warns_and_breaches_once(database, clock):
    # Friday 10:00 UTC, working hours 09:00-17:00.
    with database.session() as session:
        notify, _ = requests.submit(
            session,
            item_id="access",
            answers={"system": "billing"},
            requester="U0ASKER",
            now=clock.now(),
            policy=POLICY,
        )
        key = notify.request.key
        timer = session.exec(select(SlaTimer).where(SlaTimer.record_key == key)).first()
        assert timer is not None and timer.next_due_at is None  # paused awaiting approval
    clock.advance(hours=3)  # approval takes three hours: not the fulfilment team's time
    with database.session() as session:
        requests.decide(
            session,
            key=key,
            approver="U0BOSS",
            members_of=APPROVERS,
            approve=True,
            now=clock.now(),
            policy=POLICY,
        )
    for _ in range(3):
        with database.session() as session:
            sla_timers.sweep(session, now=clock.now(), policy=POLICY)
    with database.session() as session:
        assert _sent(session, key) == []
    clock.advance(minutes=61)  # response (1h) breached, resolution (2h) past 50 %
    for _ in range(3):
        with database.session() as session:
            sla_timers.sweep(session, now=clock.now(), policy=POLICY)
    with database.session() as session:
        stages = _sent(session, key)
    assert ("response:100", "U0ITONCALL") in stages and ("response:100", "U0ITLEAD") in stages
    assert ("resolution:50", "U0ITONCALL") in stages
    assert len(stages) == len(set(stages))
    clock.advance(timedelta(hours=3))  # Friday 17:01: the working day is over
    with database.session() as session:
        requests.start_fulfilment(
            session, key=key, actor=Actor("U0ITONCALL"), now=clock.now(), **FULFILMENT
        )
        requests.fulfil(
            session,
            key=key,
            note="Granted",
            actor=Actor("U0ITONCALL"),
            now=clock.now(),
            **FULFILMENT,
        )
    with database.session() as session:
        sla_timers.sweep(session, now=clock.now() + timedelta(days=7), policy=POLICY)
        later = _sent(session, key)
    # Fulfilled: no further reminders however late the next sweep runs.
    assert [s for s in later if s not in stages and "reminder" in s[0]] == []
