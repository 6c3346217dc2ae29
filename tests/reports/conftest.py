"""A small data set for report tests, built through the real incident services (so the SLA
timers, pauses and reopenings are the ones production records), with figures computed by
hand in the comments of test_figures.py.

The reported period is October 2026 (1 Oct is a Thursday); the previous one September.
Business hours: Mon–Fri 09:00–17:00 UTC, no public holidays.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from bot.policy import parse_policy
from models.availability import TestRun
from models.change import Change
from models.incident import HoldReason, IncidentInput, Level
from models.problem import Problem
from models.service_request import ServiceRequest
from services import incidents, links, sla_timers
from services.permissions import Actor, Role
from tests.conftest import TEST_POLICY

AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))
REPORT_POLICY = (
    TEST_POLICY
    + """
[[services]]
name = "email"
team = "platform"

[[reports]]
name = "monthly"
schedule = "0 8 1 * *"
scope = "all"
period = "last month"
channel = "C0REPORTS"
"""
)

LEVELS = {
    1: (Level.HIGH, Level.HIGH),
    2: (Level.HIGH, Level.MEDIUM),
    3: (Level.HIGH, Level.LOW),
    4: (Level.MEDIUM, Level.LOW),
    5: (Level.LOW, Level.LOW),
}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(REPORT_POLICY)


class Builder:
    def __init__(self, session: Session, policy) -> None:  # type: ignore[no-untyped-def]
        self.session = session
        self.policy = policy

    def incident(self, priority: int, service: str | None, when: datetime) -> str:
        impact, urgency = LEVELS[priority]
        incident, _ = incidents.create(
            self.session,
            data=IncidentInput(
                title=f"P{priority} <on> {service}", impact=impact, urgency=urgency, service=service
            ),
            reporter="U0REPORTER",
            now=when,
            policy=self.policy,
        )
        self.session.flush()
        return incident.key

    def ack(self, key: str, when: datetime) -> None:
        incidents.acknowledge(self.session, key=key, actor=AGENT, now=when, policy=self.policy)

    def hold(self, key: str, when: datetime) -> None:
        incidents.hold(
            self.session,
            key=key,
            reason=HoldReason.CUSTOMER,
            note=None,
            actor=AGENT,
            now=when,
            policy=self.policy,
        )

    def resume(self, key: str, when: datetime) -> None:
        incidents.resume(self.session, key=key, actor=AGENT, now=when, policy=self.policy)

    def resolve(self, key: str, when: datetime) -> None:
        incidents.resolve(
            self.session,
            key=key,
            code="fixed",
            note="Fixed.",
            actor=AGENT,
            now=when,
            policy=self.policy,
        )

    def reopen(self, key: str, when: datetime) -> None:
        incidents.reopen(self.session, key=key, actor=AGENT, now=when, policy=self.policy)

    def cancel(self, key: str, when: datetime) -> None:
        incidents.cancel(
            self.session, key=key, actor=AGENT, now=when, note="Logged twice.", policy=self.policy
        )

    def request(self, submitted: datetime, fulfilled: datetime, fulfil_hours: int) -> None:
        request = ServiceRequest(
            item_id="laptop",
            title="A laptop",
            requester="U0REQ",
            status="fulfilled",
            fulfilment_team="platform",
            response_target_s=4 * 3600,
            fulfilment_target_s=fulfil_hours * 3600,
            submitted_at=submitted,
            updated_at=fulfilled,
            started_at=submitted,
            fulfilled_at=fulfilled,
        )
        if hasattr(ServiceRequest, "service"):
            # Requests of a catalog item on a service (once requests carry one).
            request.service = "payments"  # type: ignore[attr-defined]
        self.session.add(request)
        self.session.flush()
        sla_timers.refresh_request(self.session, request=request, now=fulfilled, policy=self.policy)

    def change(
        self, change_type: str, outcome: str | None, implemented: datetime, target: str | None
    ) -> str:
        from models.change import ChangeTarget

        change = Change(
            title=f"{change_type} change",
            type=change_type,
            risk="low",
            status="closed" if outcome else "review",
            requester="U0REQ",
            review_outcome=outcome,
            created_at=implemented,
            updated_at=implemented,
            implemented_at=implemented,
        )
        self.session.add(change)
        self.session.flush()
        if target:
            self.session.add(ChangeTarget(change_id=change.id, target=target))
        return change.key


@pytest.fixture
def october(database, policy):  # type: ignore[no-untyped-def]
    """The data set; returns nothing, the database holds it."""
    with database.session() as session:
        b = Builder(session, policy)
        # INC-1 payments P1: ack after 10 min, resolved after 3 h. Both met. Outage 10–13.
        k = b.incident(1, "payments", at(10, 5, 10))
        b.ack(k, at(10, 5, 10, 10))
        b.resolve(k, at(10, 5, 13))
        # INC-2 payments P1: ack after 30 min (15 min target: breached), on hold 11–15 (the
        # clock pauses), resolved 16:00: 2 h counted of 4 h, met. Outage 10–16.
        k = b.incident(1, "payments", at(10, 6, 10))
        b.ack(k, at(10, 6, 10, 30))
        b.hold(k, at(10, 6, 11))
        b.resume(k, at(10, 6, 15))
        b.resolve(k, at(10, 6, 16))
        # INC-3 vpn P3 (business hours) logged Friday 16:00, acknowledged Monday 10:00: 66 h
        # on the wall, 2 business hours of 4: met. Resolved Monday 12:00: met. Outage 68 h.
        k = b.incident(3, "vpn", at(10, 9, 16))
        b.ack(k, at(10, 12, 10))
        b.resolve(k, at(10, 12, 12))
        # INC-4 vpn P2: ack after 20 min (met), resolved 10:00, reopened 11:00, resolved again
        # 20:00: 11 h of an 8 h target, breached. Outage 09–20.
        k = b.incident(2, "vpn", at(10, 20, 9))
        b.ack(k, at(10, 20, 9, 20))
        b.resolve(k, at(10, 20, 10))
        b.reopen(k, at(10, 20, 11))
        b.resolve(k, at(10, 20, 20))
        # INC-5 payments P4 logged Wed 28 Oct, never acknowledged: both targets overdue now.
        # Medium impact: not an outage.
        b.incident(4, "payments", at(10, 28, 10))
        # INC-6 P5 logged by mistake and cancelled: counted nowhere.
        k = b.incident(5, None, at(10, 15, 12))
        b.cancel(k, at(10, 15, 13))
        # INC-7 payments P2 in September: the previous period. Ack 5 min, resolved 1 h.
        k = b.incident(2, "payments", at(9, 10, 10))
        b.ack(k, at(9, 10, 10, 5))
        b.resolve(k, at(9, 10, 11))
        # INC-8 payments P2 overlapping INC-1 (12–14): merged into one outage 10–14.
        k = b.incident(2, "payments", at(10, 5, 12))
        b.ack(k, at(10, 5, 12, 5))
        b.resolve(k, at(10, 5, 14))
        # INC-9 P5, no service, logged Thu 1 Oct 09:00, ack 09:30 (met), resolved 2 Nov:
        # resolution (10 business days, due 14 Oct 17:00) breached; open at the end of October.
        k = b.incident(5, None, at(10, 1, 9))
        b.ack(k, at(10, 1, 9, 30))
        b.resolve(k, at(11, 2, 9))
        # INC-4 was caused by an emergency change on payments.
        b.change("normal", "successful", at(10, 3, 20), None)
        emergency = b.change("emergency", "failed", at(10, 19, 22), "payments")
        b.change("standard", "successful_with_issues", at(10, 21, 20), "vpn")
        b.change("normal", None, at(10, 30, 20), None)
        b.change("normal", "successful", at(9, 30, 20), None)  # September
        links.link(
            session, a="INC-4", b=emergency, kind="caused by", actor="U0AGENT1", now=at(10, 20, 12)
        )
        # Requests: two business days to fulfil, done in one (on time); one business hour,
        # done in five (late).
        b.request(at(10, 5, 10), at(10, 6, 10), 16)
        b.request(at(10, 5, 10), at(10, 5, 15), 1)
        # Problems: one opened, made a known error and resolved in October; one from
        # September resolved in October.
        session.add(
            Problem(
                title="Payments timeouts",
                service="payments",
                created_by="U0AGENT1",
                created_at=at(10, 3, 9),
                updated_at=at(10, 20, 9),
                known_error_at=at(10, 10, 9),
                resolved_at=at(10, 20, 9),
                status="resolved",
            )
        )
        session.add(
            Problem(
                title="VPN drops",
                service="vpn",
                created_by="U0AGENT1",
                created_at=at(9, 20, 9),
                updated_at=at(10, 2, 9),
                resolved_at=at(10, 2, 9),
                status="resolved",
            )
        )
        # Continuity tests of payments: passed, failed, still pending.
        for day, status in ((7, "passed"), (14, "failed"), (21, "pending")):
            session.add(
                TestRun(
                    service="payments",
                    test_name="restore drill",
                    kind="continuity",
                    owner="U0OWNER",
                    due_at=at(10, day, 9),
                    status=status,
                    created_at=at(10, day, 9),
                )
            )
