"""The set-based SLA sweep writes exactly the outbox and timer rows that the per-row sweep it
replaced wrote, on the same data; and its statement count does not grow with what is due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from bot.db import Database
from bot.policy import parse_policy
from models.incident import HoldReason, IncidentInput
from models.notification import Notification
from models.sla_timer import SlaTimer
from services import incidents, notifications, requests, sla_timers
from services.clock import ManualClock
from tests import statements
from tests.sla import per_row_sweep
from tests.sla.conftest import AGENT, IMPACT_URGENCY

fresh = statements.fresh  # the fixture, shared with the other sweeps' tests

POLICY = parse_policy(
    """
[channels]
incidents = "C0INCIDENTS"
escalations = "C0ESCALATE"

[[teams]]
name = "ops"
lead = "ULEAD"
on_call = "UONCALL"

[[services]]
name = "email"
team = "ops"

[[catalog.items]]
id = "laptop"
name = "A laptop"
fulfilment_team = "ops"
response_target = "1h"
fulfilment_target = "4h"
"""
)

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # a Friday, so business hours cross a weekend
STEPS = [
    timedelta(minutes=8),
    timedelta(minutes=12),
    timedelta(minutes=25),
    timedelta(minutes=40),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=20),
    timedelta(days=2, hours=3),
    timedelta(days=4),
]

Sweep = Callable[..., list[sla_timers.Fired]]


def _incident(db: Database, clock: ManualClock, priority: int, title: str) -> str:
    impact, urgency = IMPACT_URGENCY[priority]
    data = IncidentInput(title=title, impact=impact, urgency=urgency, service="email")
    with db.session() as session:
        incident, _ = incidents.create(
            session, data=data, reporter="UREPORTER", now=clock.now(), policy=POLICY
        )
        return incident.key


def _scenario(db: Database, sweep: Sweep, *, limit: int) -> list[list[sla_timers.Fired]]:
    """Incidents of every priority in every state the clock cares about, a service request,
    a record whose refresh was missed and a timer that cannot be computed, swept at points
    that cross warnings, breaches, reminders, nights and a weekend."""
    clock = ManualClock(START)
    keys = [_incident(db, clock, 1 + n % 5, f"Mail <{n}> & more") for n in range(15)]
    with db.session() as session:
        requests.submit(
            session,
            item_id="laptop",
            answers={},
            requester="UASKER",
            now=clock.now(),
            policy=POLICY,
        )
        # A broken timer (zero-length target): its computation raises, it is pushed back.
        session.execute(
            text(
                "UPDATE sla_timer SET target_seconds = 0, next_due_at = started_at "
                "WHERE record_key = 'INC-15' AND target = 'response'"
            )
        )
    fired = []
    for number, step in enumerate(STEPS):
        clock.set(START + step)
        with db.session() as session:
            if number == 0:
                for key in keys[1:4]:
                    incidents.acknowledge(
                        session, key=key, actor=AGENT, now=clock.now(), policy=POLICY
                    )
            if number == 1:
                incidents.assign(
                    session, key=keys[0], assignee="UASSIGNEE", actor=AGENT, now=clock.now()
                )
                incidents.hold(
                    session,
                    key=keys[2],
                    reason=HoldReason.CUSTOMER,
                    note=None,
                    actor=AGENT,
                    now=clock.now(),
                    policy=POLICY,
                )
            if number == 3:
                incidents.resume(session, key=keys[2], actor=AGENT, now=clock.now(), policy=POLICY)
                incidents.resolve(
                    session,
                    key=keys[3],
                    code="fixed",
                    note="done",
                    actor=AGENT,
                    now=clock.now(),
                    policy=POLICY,
                )
                # Acknowledged behind the timers' back: the sweep finds the target met.
                session.execute(
                    text("UPDATE incident SET acknowledged_at = created_at WHERE id = 6")
                )
                incidents.record_message(
                    session, key=keys[6], channel_id="C0INCIDENTS", ts="1.000006"
                )
        with db.session() as session:
            fired.append(sweep(session, now=clock.now(), policy=POLICY, limit=limit))
    return fired


def _rows(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with db.session() as session:
        outbox = [
            tuple(getattr(row, c.name) for c in Notification.__table__.columns if c.name != "id")
            for row in session.exec(
                select(Notification).order_by(
                    col(Notification.record_key), col(Notification.stage), Notification.recipient
                )
            )
        ]
        timers = [
            tuple(getattr(row, c.name) for c in SlaTimer.__table__.columns if c.name != "id")
            for row in session.exec(
                select(SlaTimer).order_by(col(SlaTimer.record_key), col(SlaTimer.target))
            )
        ]
    return outbox, timers


@pytest.mark.parametrize("limit", [500, 3])
def test_set_based_sweep_writes_what_the_per_row_sweep_wrote(fresh, limit):
    database = fresh()
    before = _scenario(database, per_row_sweep.sweep, limit=limit)
    expected = _rows(database)
    database = fresh()
    after = _scenario(database, sla_timers.sweep, limit=limit)
    found = _rows(database)
    assert after == before
    assert found[0] == expected[0]
    assert found[1] == expected[1]
    if limit < 500:
        return  # a small batch leaves most of the work to later sweeps: equal is what counts
    # The scenario did exercise the sweep: warnings, breaches, reminders, a cancellation.
    outbox, timers = found
    stages = {row[2] for row in outbox}
    assert {"response:50", "response:75", "response:100", "resolution:50"} <= stages, stages
    assert any(stage.startswith("resolution:reminder:") for stage in stages)
    assert any(row[5] == "cancelled" for row in outbox)
    broken = [t for t in timers if t[0] == "INC-15" and t[1] == "response"]
    assert broken[0][6] == START + STEPS[-1] + sla_timers.RETRY_BROKEN_AFTER  # pushed back


_count_statements = statements.count_statements


def _due_incidents(db: Database, count: int) -> None:
    clock = ManualClock(START)
    for n in range(count):
        _incident(db, clock, 2, f"Due {n}")
    with db.session() as session:
        incidents.assign(session, key="INC-1", assignee="UASSIGNEE", actor=AGENT, now=clock.now())


@pytest.mark.parametrize("minutes", [30, 61])  # warnings; breaches (more recipients each)
def test_sweep_statement_count_does_not_grow_with_what_is_due(fresh, minutes):
    counts = []
    for due in (1, 50):
        database = fresh()
        _due_incidents(database, due)
        now = START + timedelta(minutes=minutes)

        def run(now: datetime = now, database: Database = database, due: int = due) -> None:
            with database.session() as session:
                fired = sla_timers.sweep(session, now=now, policy=POLICY)
            assert len(fired) == due

        counts.append(_count_statements(database, run))
    assert counts[0] == counts[1]
    assert counts[0] <= 8


def test_submit_statement_count_does_not_depend_on_timers(database):
    clock = ManualClock(START)
    counts = []
    for priority in (1, 3):
        counts.append(
            _count_statements(database, lambda p=priority: _incident(database, clock, p, "Down"))
        )
    assert counts[0] == counts[1]
    # The incident (its INSERT also reads the audit chain's tail), both timers (one
    # statement), its audit row; on SQLite also BEGIN IMMEDIATE.
    assert counts[0] == (3 if database.dialect == "postgresql" else 4), counts


def test_a_new_incidents_timers_are_those_a_refresh_computes(database):
    clock = ManualClock(START)
    keys = [_incident(database, clock, priority, "Down") for priority in range(1, 6)]
    before = _rows(database)[1]
    with database.session() as session:
        for key in keys:
            incident = incidents.get(session, key=key)
            sla_timers.refresh_incident(session, incident=incident, now=START, policy=POLICY)
    assert _rows(database)[1] == before
    assert len(before) == 10 and all(timer[6] is not None for timer in before)


def test_paging_sweep_statement_count_does_not_grow_with_what_is_due(fresh):
    from services import paging

    policy = parse_policy(
        """
[[teams]]
name = "ops"
escalation_ladder = ["UONE", "UTWO", "UTHREE"]
"""
    )
    counts = []
    for due in (1, 20):
        database = fresh()
        with database.session() as session:
            for n in range(due):
                paging.start(
                    session, record_key=f"INC-{n + 1}", team="ops", now=START, policy=policy
                )

        def run(database: Database = database, due: int = due) -> None:
            later = START + timedelta(minutes=11)
            with database.session() as session:
                assert len(paging.sweep(session, now=later, policy=policy)) == due

        counts.append(_count_statements(database, run, skip="audit_entry"))
        with database.session() as session:
            assert len(session.exec(select(Notification)).all()) == 2 * due
    # The audit trail is a hash chain appended row by row; everything else is set-based.
    assert counts[0] == counts[1]


def test_a_new_requests_timers_are_those_a_refresh_computes(database):
    with database.session() as session:
        notify, _ = requests.submit(
            session, item_id="laptop", answers={}, requester="UASKER", now=START, policy=POLICY
        )
        key = notify.request.key
    before = _rows(database)[1]
    with database.session() as session:
        request = requests.get(session, key=key)
        sla_timers.refresh_request(session, request=request, now=START, policy=POLICY)
    assert _rows(database)[1] == before
    assert [timer[1] for timer in before] == ["resolution", "response"]


def test_outbox_claim_statement_count_does_not_grow_with_what_is_due(fresh):
    counts = []
    for due in (1, 30):
        database = fresh()
        with database.session() as session:
            notifications.schedule_many(
                session,
                [
                    notifications.row(
                        record_key=f"INC-{n}",
                        kind="sla",
                        stage="response:50",
                        recipient="C0X",
                        due_at=START,
                        text="due",
                    )
                    for n in range(due)
                ],
            )

        def claim(database: Database = database, due: int = due) -> None:
            with database.session() as session:
                assert len(notifications.claim_due(session, now=START)) == due

        counts.append(_count_statements(database, claim))
    assert counts[0] == counts[1]
