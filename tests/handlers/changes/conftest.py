"""A policy with change approvers, a freeze and a standard change for the Slack change tests,
and helpers that drive the forms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.policy import parse_policy
from tests.conftest import TEST_POLICY

CAB = "S0CAB"
APPROVERS = ["U0APPROVER1", "U0APPROVER2", "U0APPROVER3"]
REQUESTER = "U0AGENT1"
START = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
END = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)

EXTRA = f"""
[changes]
approvers = {{ normal = ["{CAB}"], emergency = ["{CAB}"] }}

[[changes.standard_changes]]
name = "Rotate TLS certificate"
risk = "low"

[[changes.freezes]]
name = "Year end"
start = "2026-12-20T00:00:00Z"
end = "2027-01-04T00:00:00Z"
"""


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(
        TEST_POLICY.replace(
            "[channels]", '[channels]\nchanges = "C0CHANGES"\nchange_approvals = "C0APPROVALS"'
        )
        + EXTRA
    )


@pytest.fixture
def fake_slack(fake_slack):  # type: ignore[no-untyped-def]
    fake_slack.set_usergroup(CAB, APPROVERS)
    return fake_slack


def latest_view(fake_slack) -> dict:  # type: ignore[no-untyped-def]
    call = fake_slack.wait_for("views.open")[-1]
    return fake_slack.view(call.response["view"]["id"])


def request_change(slack, fake_slack, **overrides):  # type: ignore[no-untyped-def]
    """Open /change, fill the form and submit it; returns (view, result)."""
    user = overrides.pop("user", REQUESTER)
    slack.command("/change", "", user_id=user, channel_id="C0WORK")
    view = latest_view(fake_slack)
    answers = {
        "title": "Upgrade the payments database",
        "type": "normal",
        "risk": "medium",
        "targets": ["payments"],
        "planned_start": START,
        "planned_end": END,
        "implementation_plan": "pg_upgrade on the replica, then fail over",
        "backout_plan": "Fail back to the old primary",
        "implementer": "U0AGENT2",
    }
    answers.update(overrides)
    answers = {k: v for k, v in answers.items() if v is not None}
    return view, slack.submit(view, answers, user_id=user)


def buttons(message: dict) -> list[str]:
    return [
        e.get("action_id")
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
