"""A policy with two agreements (Gold covers payments and vpn's neighbour wiki is left out;
Silver covers vpn), a catalog item on payments, and helpers to act as people."""

from __future__ import annotations

import pytest

from bot.policy import parse_policy
from models.incident import IncidentInput, Level
from services import incidents
from services.permissions import Actor, Role
from tests.conftest import TEST_POLICY

OWNER = "U0SLAOWNER"
AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))

AGREEMENTS = f"""
[[services]]
name = "wiki"
team = "platform"

[[catalog.items]]
id = "refund"
name = "Refund a payment"
fulfilment_team = "platform"
service = "payments"
response_target = "4h"
fulfilment_target = "3d"

[[agreements]]
name = "Gold"
customer = "Retail & Online"
services = ["payments"]
owner = "{OWNER}"
availability_target = 99.9
calendar = "24x7"
review_every = "quarterly"
next_review = 2026-12-20
request_targets = {{ fulfilment = "1d" }}

[agreements.incident_targets.P1]
response = "5m"
resolution = "1h"

[agreements.incident_targets.P2]
response = "30m"
resolution = "2h"

[[agreements]]
name = "Silver"
customer = "Staff"
services = ["vpn"]
owner = "U0SILVER"
review_every = "yearly"

[agreements.incident_targets.P2]
response = "2h"
resolution = "1d"
"""

AGREEMENT_POLICY = TEST_POLICY + AGREEMENTS


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(AGREEMENT_POLICY)


def log(database, clock, policy, *, service, impact="high", urgency="medium") -> str:  # type: ignore[no-untyped-def]
    data = IncidentInput(
        title=f"Trouble on {service}",
        impact=Level(impact),
        urgency=Level(urgency),
        service=service,
    )
    with database.session() as session:
        incident, _ = incidents.create(
            session, data=data, reporter="U0REPORTER", now=clock.now(), policy=policy
        )
        return incident.key


def acknowledge(database, clock, policy, key: str) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)


def resolve(database, clock, policy, key: str) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        incidents.resolve(
            session,
            key=key,
            code="fixed",
            note="Fixed",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
