"""A policy with customers, suppliers and surveys, and helpers that put records in a state
through the services."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy import parse_policy
from models.incident import HoldReason, IncidentInput
from services import incidents
from services.permissions import Actor, Role
from tests.conftest import TEST_POLICY

REPORTER = "U0REPORTER"
OWNER = "U0RELOWNER"  # the Retail customer's relationship owner
SUPPLIER_OWNER = "U0SUPOWNER"
AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))

RELATIONSHIP_POLICY = (
    TEST_POLICY
    + """
[[services]]
name = "wiki"
team = "platform"

[[customers]]
name = "Retail"
services = ["payments"]
contact = "U0RETAILBOSS"
owner = "U0RELOWNER"
review_every = "quarterly"
next_review = 2026-12-10

[surveys]
min_interval = "1d"
low_score = 2
off_for = ["wiki"]

[complaints]
response_target = "2d"
remind_before = ["1d"]

[[suppliers]]
name = "Acme Networks"
contact = "support@acme.example"
services = ["vpn"]
contract = "ACME-2025-7"
response_target = "4h"
resolution_target = "8h"
contract_end = "2027-03-31"
owner = "U0SUPOWNER"
review_every = "180d"
"""
)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(RELATIONSHIP_POLICY)


def resolved_incident(
    database: Any,
    clock: Any,
    policy: Any,
    *,
    reporter: str = REPORTER,
    service: str = "payments",
    title: str = "Card payments fail",
) -> str:
    """An incident logged, acknowledged and resolved now."""
    with database.session() as s:
        incident, _ = incidents.create(
            s,
            data=IncidentInput(title=title, impact="low", urgency="low", service=service),
            reporter=reporter,
            now=clock.now(),
            policy=policy,
        )
        kw = {"key": incident.key, "actor": AGENT, "now": clock.now(), "policy": policy}
        incidents.acknowledge(s, **kw)
        incidents.resolve(s, code="fixed", note="restarted", **kw)
        return incident.key


def held_incident(database: Any, clock: Any, policy: Any, *, service: str = "vpn") -> str:
    """An incident on hold awaiting supplier since now."""
    with database.session() as s:
        incident, _ = incidents.create(
            s,
            data=IncidentInput(title="VPN drops", impact="low", urgency="low", service=service),
            reporter=REPORTER,
            now=clock.now(),
            policy=policy,
        )
        kw = {"key": incident.key, "actor": AGENT, "now": clock.now(), "policy": policy}
        incidents.acknowledge(s, **kw)
        incidents.hold(s, reason=HoldReason.SUPPLIER, note="Acme is on it", **kw)
        return incident.key
