"""A change that touches security (the form's checkbox) needs an approval from
`changes.security_approvers` besides the usual quorum, end to end in Slack."""

from __future__ import annotations

import pytest

from bot.policy import parse_policy
from tests.conftest import TEST_POLICY
from tests.handlers.changes.conftest import APPROVERS, CAB, EXTRA, latest_view
from tests.handlers.changes.test_change_flow import (
    approval_message,
    status,
    to_awaiting_approval,
)

CISO = "U0CISO"


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(
        TEST_POLICY.replace(
            "[channels]", '[channels]\nchanges = "C0CHANGES"\nchange_approvals = "C0APPROVALS"'
        )
        + EXTRA.replace("[changes]\n", f'[changes]\nsecurity_approvers = ["{CISO}"]\n')
    )


@pytest.fixture
def fake_slack(fake_slack):  # type: ignore[no-untyped-def]
    fake_slack.set_usergroup(CAB, APPROVERS)
    return fake_slack


def test_a_security_change_waits_for_a_security_approver(slack, fake_slack, database):
    request = to_awaiting_approval(slack, fake_slack, database, risk="low", security=["yes"])
    assert "Security" in str(latest_view(fake_slack)["blocks"])  # the form offered the flag
    # The security approver is asked too, and one CAB approval (normal-low) is not enough.
    assert approval_message(fake_slack, CISO)["blocks"]
    slack.click(request, "change_approve", user_id="U0APPROVER1", channel_id="C0APPROVALS")
    assert status(database) == "awaiting_approval"
    assert "1 more approval needed" in str(approval_message(fake_slack, "C0APPROVALS")["blocks"])
    slack.click(request, "change_approve", user_id=CISO, channel_id="C0APPROVALS")
    assert status(database) == "approved"


def test_an_ordinary_change_does_not_ask_the_security_approver(slack, fake_slack, database):
    request = to_awaiting_approval(slack, fake_slack, database, risk="low")
    assert not [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == CISO]
    slack.click(request, "change_approve", user_id=CISO, channel_id="C0APPROVALS")
    assert status(database) == "awaiting_approval"  # not an approver of this change
    slack.click(request, "change_approve", user_id="U0APPROVER1", channel_id="C0APPROVALS")
    assert status(database) == "approved"
