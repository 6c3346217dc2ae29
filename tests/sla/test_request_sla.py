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


def _submitted(session, clock) -> str:  # type: ignore[no-untyped-def]
    notify, _ = requests.submit(
        session,
        item_id="access",
        answers={"system": "billing"},
        requester="U0ASKER",
        now=clock.now(),
        policy=POLICY,
    )
    return notify.request.key


def _states(database, clock, key):  # type: ignore[no-untyped-def]
    """The request's (response, resolution) as /request show sees them."""
    with database.session() as session:
        request = requests.get(session, key=key)
        return sla_timers.request_sla(request=request, policy=POLICY, now=clock.now())


def _swept_a_week_later(database, clock, key):  # type: ignore[no-untyped-def]
    """What the sweeps send about the request over the next week (stopped: nothing)."""
    with database.session() as session:
        before = _sent(session, key)
    for days in range(1, 8):
        with database.session() as session:
            sla_timers.sweep(session, now=clock.now() + timedelta(days=days), policy=POLICY)
    with database.session() as session:
        return [s for s in _sent(session, key) if s not in before]


def _decide(session, clock, key, *, approve: bool) -> None:  # type: ignore[no-untyped-def]
    requests.decide(
        session,
        key=key,
        approver="U0BOSS",
        members_of=APPROVERS,
        approve=approve,
        now=clock.now(),
        policy=POLICY,
        reason=None if approve else "Not for contractors",
    )


def test_starting_and_fulfilling_stop_response_then_resolution(database, clock):
    # Friday 10:00; approval takes an hour (not counted), fulfilment starts 30 min later and
    # ends an hour after that.
    with database.session() as session:
        key = _submitted(session, clock)
    clock.advance(hours=1)
    with database.session() as session:
        _decide(session, clock, key, approve=True)
    approved = clock.now()
    clock.advance(minutes=30)
    with database.session() as session:
        requests.start_fulfilment(
            session, key=key, actor=Actor("U0ITONCALL"), now=clock.now(), **FULFILMENT
        )
    (response, resolution) = _states(database, clock, key)
    assert (response.stopped, response.met, response.elapsed) == (True, True, timedelta(minutes=30))
    assert (resolution.stopped, resolution.paused) == (False, False)
    assert resolution.elapsed == timedelta(minutes=30)
    assert resolution.due_at == approved + timedelta(hours=2)
    clock.advance(hours=1)
    with database.session() as session:
        requests.fulfil(
            session, key=key, note="Done", actor=Actor("U0ITONCALL"), now=clock.now(), **FULFILMENT
        )
    clock.advance(hours=1)
    with database.session() as session:
        requests.close(session, key=key, actor=Actor("U0ITONCALL"), now=clock.now(), **FULFILMENT)
    (response, resolution) = _states(database, clock, key)
    # Closing later does not move the stops: fulfilment is what met the targets.
    assert (response.stopped, response.elapsed) == (True, timedelta(minutes=30))
    assert (resolution.stopped, resolution.met, resolution.elapsed) == (
        True,
        True,
        timedelta(minutes=90),
    )
    assert _swept_a_week_later(database, clock, key) == []


def test_a_rejected_request_stops_both_clocks_at_the_decision(database, clock):
    with database.session() as session:
        key = _submitted(session, clock)
    clock.advance(hours=1)
    with database.session() as session:
        _decide(session, clock, key, approve=False)
    clock.advance(hours=5)
    (response, resolution) = _states(database, clock, key)
    # Waiting for the decision was paused: nothing counted, nothing owed.
    assert (response.stopped, response.elapsed, response.breached) == (True, timedelta(0), False)
    assert (resolution.stopped, resolution.elapsed) == (True, timedelta(0))
    assert _swept_a_week_later(database, clock, key) == []


def test_a_cancelled_request_stops_both_clocks_when_cancelled(database, clock):
    with database.session() as session:
        key = _submitted(session, clock)
    clock.advance(hours=1)
    with database.session() as session:
        _decide(session, clock, key, approve=True)
    clock.advance(minutes=45)
    with database.session() as session:
        requests.cancel(session, key=key, actor=Actor("U0ASKER"), now=clock.now())
    clock.advance(hours=5)
    (response, resolution) = _states(database, clock, key)
    assert (response.stopped, response.elapsed) == (True, timedelta(minutes=45))
    assert (resolution.stopped, resolution.elapsed) == (True, timedelta(minutes=45))
    assert _swept_a_week_later(database, clock, key) == []
