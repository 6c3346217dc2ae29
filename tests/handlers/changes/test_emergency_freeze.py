"""An emergency change inside a freeze needs one more approval, from a freeze approver; a
cancelled change asks why and ends its approvals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.policy import parse_policy
from composition import hooks_for
from schedules.scheduler import run_once
from tests.conftest import TEST_POLICY
from tests.handlers.changes.conftest import END, EXTRA, REQUESTER, START, request_change
from tests.handlers.changes.test_change_flow import (
    approval_message,
    buttons,
    change_message,
    status,
)
from tests.handlers.test_incident_flow import latest_view

FREEZE_APPROVERS = "S0FREEZE"


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(
        TEST_POLICY.replace(
            "[channels]", '[channels]\nchanges = "C0CHANGES"\nchange_approvals = "C0APPROVALS"'
        )
        + EXTRA.replace("[changes]\n", f'[changes]\nfreeze_approvers = ["{FREEZE_APPROVERS}"]\n', 1)
    )


@pytest.fixture(autouse=True)
def freeze_group(fake_slack):  # type: ignore[no-untyped-def]
    fake_slack.set_usergroup(FREEZE_APPROVERS, ["U0CTO"])


def test_emergency_change_in_a_freeze_needs_a_freeze_approver(slack, fake_slack, database):
    _, result = request_change(
        slack,
        fake_slack,
        type="emergency",
        risk="low",
        planned_start=datetime(2026, 12, 24, 20, tzinfo=UTC),
        planned_end=datetime(2026, 12, 24, 22, tzinfo=UTC),
    )
    assert result.status == 200 and not result.body, result.body
    message = change_message(fake_slack, database)
    assert "change_assess" not in buttons(message)  # emergency: straight to approval
    slack.click(message, "change_submit", user_id=REQUESTER, channel_id="C0CHANGES")
    request = approval_message(fake_slack, "C0APPROVALS")
    slack.click(request, "change_approve", user_id="U0APPROVER1", channel_id="C0APPROVALS")
    assert status(database) == "awaiting_approval"  # the CAB quorum alone is not enough
    request = approval_message(fake_slack, "C0APPROVALS")
    slack.click(request, "change_approve", user_id="U0CTO", channel_id="C0APPROVALS")
    assert status(database) == "approved"


def test_cancel_asks_why_and_ends_the_approval(slack, fake_slack, database):
    request_change(slack, fake_slack)
    message = change_message(fake_slack, database)
    slack.click(message, "change_cancel", user_id=REQUESTER, channel_id="C0CHANGES")
    view = latest_view(fake_slack)
    empty = slack.submit(view, {"note": " "}, user_id=REQUESTER)
    assert empty.body["response_action"] == "errors"
    done = slack.submit(view, {"note": "Vendor postponed the upgrade"}, user_id=REQUESTER)
    assert done.status == 200 and not done.body
    assert status(database) == "cancelled"
    message = change_message(fake_slack, database)
    assert "Cancelled" in str(message["blocks"]) and not buttons(message)


def test_change_raised_while_slack_is_down_is_posted_once_it_is_back(
    slack, fake_slack, database, clock, ctx
):
    slack.command("/change", "", user_id=REQUESTER, channel_id="C0WORK")
    view = latest_view(fake_slack)
    fake_slack.down(True)
    try:
        result = slack.submit(
            view,
            {
                "title": "Upgrade the payments database",
                "type": "normal",
                "risk": "medium",
                "targets": ["payments"],
                "planned_start": START,
                "planned_end": END,
                "implementation_plan": "pg_upgrade",
                "backout_plan": "Fail back",
            },
            user_id=REQUESTER,
        )
    finally:
        fake_slack.down(False)
    assert result.status == 200 and not result.body
    clock.advance(minutes=2)
    for _ in range(2):
        run_once(
            db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks_for(ctx)
        )
    message = change_message(fake_slack, database)
    assert "CHG-1" in str(message["blocks"])
    posted = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "C0CHANGES" and "thread_ts" not in c.args and not c.failed
    ]
    assert len(posted) == 1
