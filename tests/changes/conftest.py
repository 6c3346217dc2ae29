"""Fixtures for change and release tests: a policy with approver groups, a freeze and a
standard change, and helpers that take a change to the state a test needs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.db import Database
from models.change import ChangeInput, ChangeType, Risk
from models.policy import Policy
from services import change_approvals, changes
from services.clock import ManualClock
from services.permissions import Actor

REQUESTER = "UREQ1"
CAB = "SCAB1"
CHAIR = "SCHAIR1"
ECAB = "SECAB1"
FREEZERS = "SFREEZE1"
WINDOW_START = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
WINDOW_END = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
FREEZE_START = datetime(2026, 12, 20, tzinfo=UTC)


@pytest.fixture
def policy() -> Policy:
    return Policy.model_validate(
        {
            "teams": [{"name": "Platform"}],
            "services": [{"name": "Payments", "team": "Platform"}],
            "changes": {
                "approvers": {"normal": [CAB]},
                "cab_chair": [CHAIR],
                "emergency_cab": [ECAB],
                "freeze_approvers": [FREEZERS],
                "standard_changes": [
                    {"name": "Rotate TLS certificate", "description": "Yearly", "risk": "low"}
                ],
                "freezes": [
                    {
                        "name": "Year end",
                        "start": "2026-12-20T00:00:00Z",
                        "end": "2027-01-04T00:00:00Z",
                    }
                ],
                "reminders": {"before_start": ["1h", "1d"], "review_after": "2d"},
            },
        }
    )


def change_input(**overrides: object) -> ChangeInput:
    values: dict[str, object] = {
        "title": "Upgrade the payments database",
        "type": ChangeType.NORMAL,
        "risk": Risk.MEDIUM,
        "targets": ["payments"],
        "planned_start": WINDOW_START,
        "planned_end": WINDOW_END,
        "implementation_plan": "pg_upgrade on the replica, then fail over",
        "backout_plan": "Fail back to the old primary",
        "test_plan": "Smoke tests",
        "implementer": "UIMPL1",
    }
    values.update(overrides)
    return ChangeInput(**values)  # type: ignore[arg-type]


Submit = Callable[..., str]


@pytest.fixture
def awaiting(database: Database, clock: ManualClock, policy: Policy) -> Submit:
    """Create a change and take it to Awaiting approval; returns its key."""

    def make(**overrides: object) -> str:
        actor = Actor(REQUESTER)
        with database.session() as session:
            change = changes.create(
                session,
                data=change_input(**overrides),
                requester=REQUESTER,
                now=clock.now(),
                policy=policy,
            )
            key = change.key
            if change.change_type is ChangeType.NORMAL:
                changes.assess(session, key=key, actor=actor, now=clock.now())
            change_approvals.submit_for_approval(
                session, key=key, actor=actor, now=clock.now(), policy=policy
            )
        return key

    return make


def approve(
    database: Database,
    policy: Policy,
    clock: ManualClock,
    key: str,
    approver: str,
    groups: set[str],
    *,
    decision: str = "approve",
    reason: str | None = None,
) -> change_approvals.Tally:
    with database.session() as session:
        return change_approvals.decide(
            session,
            key=key,
            approver=approver,
            approver_groups=groups,
            decision=decision,
            reason=reason,
            now=clock.now(),
            policy=policy,
        )


def approved_change(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit, **overrides: object
) -> str:
    """A change of low risk (or as `overrides` say) that the CAB approved."""
    key = awaiting(risk=Risk.LOW, **overrides)
    approve(database, policy, clock, key, "UAPP1", {CAB})
    return key


def later(hours: float) -> timedelta:
    return timedelta(hours=hours)
