"""Fixtures for the SLA, paging and notifier tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.db import Database
from bot.notifier import Notifier
from models.incident import IncidentInput, Level
from models.notification import Notification
from models.policy import Policy, Service, Team
from services import incidents, notifications, sla_timers
from services.clock import ManualClock
from services.permissions import Actor, Role
from slackstub import FakeSlack


@pytest.fixture
def policy() -> Policy:
    """One team with a four-rung ladder (the top rung a user group) and one service."""
    return Policy(
        teams=[
            Team(
                name="ops",
                lead="ULEAD",
                on_call="UONCALL",
                escalation_ladder=["UONCALL", "USECOND", "ULEAD", "SHEADS"],
            )
        ],
        services=[Service(name="email", team="ops")],
    )


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.set_usergroup("SHEADS", ["UHEAD1", "UHEAD2"])
        yield fake


def make_notifier(fake: FakeSlack, db: Database, clock: ManualClock) -> Notifier:
    return Notifier(WebClient(token="xoxb-test-token", base_url=fake.url, timeout=5), db, clock)


@pytest.fixture
def notifier(fake_slack: FakeSlack, database: Database, clock: ManualClock) -> Notifier:
    return make_notifier(fake_slack, database, clock)


AGENT = Actor("UAGENT", frozenset({Role.AGENT}))
IMPACT_URGENCY = {
    1: (Level.HIGH, Level.HIGH),
    2: (Level.HIGH, Level.MEDIUM),
    3: (Level.HIGH, Level.LOW),
    4: (Level.MEDIUM, Level.LOW),
    5: (Level.LOW, Level.LOW),
}


def new_incident(db: Database, clock: ManualClock, policy: Policy, *, priority: int) -> str:
    impact, urgency = IMPACT_URGENCY[priority]
    data = IncidentInput(title="Mail is down", impact=impact, urgency=urgency, service="email")
    with db.session() as session:
        incident, _ = incidents.create(
            session, data=data, reporter="UREPORTER", now=clock.now(), policy=policy
        )
        assert incident.priority == priority
        return incident.key


def outbox(db: Database, key: str, kind: str | None = "sla") -> list[Notification]:
    with db.session() as session:
        return notifications.for_record(session, record_key=key, kind=kind)


def stages(db: Database, key: str, kind: str | None = "sla") -> dict[str, list[str]]:
    """stage → recipients, for rows not cancelled."""
    found: dict[str, list[str]] = {}
    for row in outbox(db, key, kind):
        if row.status != "cancelled":
            found.setdefault(row.stage, []).append(row.recipient)
    return found


def sweep(db: Database, clock: ManualClock, policy: Policy) -> list[sla_timers.Fired]:
    with db.session() as session:
        return sla_timers.sweep(session, now=clock.now(), policy=policy)
