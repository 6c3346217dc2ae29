"""A catalog request from the form to closure through Bolt: approvals, rejection, fulfilment."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.service_request import RequestApproval
from services import requests
from tests.handlers.issue5_support import issue5_policy
from tests.handlers.test_incident_flow import latest_view


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return issue5_policy()


@pytest.fixture(autouse=True)
def approvers(fake_slack):  # type: ignore[no-untyped-def]
    fake_slack.set_usergroup("S0APPROVERS", ["U0BOSS", "U0REQ"])


def dms(fake_slack, user: str) -> list:
    # Direct messages come from the notifier, which opens the DM channel (D + user id).
    return [
        c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] in (user, f"D{user}")
    ]


def submit_laptop(slack, fake_slack, reason="My old one broke"):  # type: ignore[no-untyped-def]
    slack.command("/request", "", user_id="U0REQ", channel_id="C0WORK")
    catalog = fake_slack.calls("response_url")[-1].args["blocks"]
    slack.click(catalog, "request_choose", user_id="U0REQ", channel_id="C0WORK")
    view = latest_view(fake_slack)
    assert view["callback_id"] == "request_form"
    missing = slack.submit(view, {"model": "13 inch"}, user_id="U0REQ")
    assert missing.body["response_action"] == "errors" and "reason" in missing.body["errors"]
    result = slack.submit(view, {"model": "13 inch", "reason": reason}, user_id="U0REQ")
    assert result.status == 200 and not result.body
    again = slack.submit(view, {"model": "13 inch", "reason": reason}, user_id="U0REQ")
    assert again.status == 200
    return view


def approval_message(fake_slack, user: str) -> dict:
    call = [c for c in dms(fake_slack, user) if "request_approve" in str(c.args.get("blocks"))][-1]
    return fake_slack.message(call.response["channel"], call.response["ts"])


def test_request_with_approval_goes_through_to_fulfilment(slack, fake_slack, database, clock):
    submit_laptop(slack, fake_slack)
    with database.session() as session:
        assert requests.get(session, key="REQ-1").status == "awaiting_approval"
        assert len(requests.list_requests(session)) == 1  # the double submit counted once
    assert "REQ-1" in dms(fake_slack, "U0REQ")[-1].args["text"]
    # The requester is in the approver group but is not asked, and may not approve.
    assert not any("request_approve" in str(c.args.get("blocks")) for c in dms(fake_slack, "U0REQ"))
    message = approval_message(fake_slack, "U0BOSS")
    slack.click(message, "request_approve", user_id="U0REQ", channel_id="DU0BOSS")
    assert "own request" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(message, "request_approve", user_id="U0STRANGER", channel_id="DU0BOSS")
    assert "Refused, because only members" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(message, "request_approve", user_id="U0BOSS", channel_id="DU0BOSS")
    slack.click(message, "request_approve", user_id="U0BOSS", channel_id="DU0BOSS")
    assert "already decided" in fake_slack.calls("response_url")[-1].args["text"]
    with database.session() as session:
        assert len(session.exec(select(RequestApproval)).all()) == 1
        assert requests.get(session, key="REQ-1").status == "approved"
    assert "approved REQ-1" in dms(fake_slack, "U0REQ")[-1].args["text"]
    # The platform team's on-call and lead get it with Start fulfilment.
    team_call = [
        c for c in dms(fake_slack, "U0ONCALL1") if "request_start" in str(c.args.get("blocks"))
    ]
    assert len(team_call) == 1 and dms(fake_slack, "U0LEAD")
    team_message = fake_slack.message(team_call[0].response["channel"], team_call[0].response["ts"])
    slack.click(team_message, "request_start", user_id="U0STRANGER", channel_id="DU0ONCALL1")
    assert (
        "Refused, because only team platform" in fake_slack.calls("response_url")[-1].args["text"]
    )
    slack.click(team_message, "request_start", user_id="U0ONCALL1", channel_id="DU0ONCALL1")
    assert "started work on REQ-1" in dms(fake_slack, "U0REQ")[-1].args["text"]
    updated = fake_slack.calls("response_url")[-1].args["blocks"]
    slack.click(
        updated,
        "request_fulfil",
        user_id="U0ONCALL1",
        channel_id="DU0ONCALL1",
        message_ts=team_message["ts"],
    )
    view = latest_view(fake_slack)
    empty = slack.submit(view, {"note": " "}, user_id="U0ONCALL1")
    assert empty.body["response_action"] == "errors" and "note" in empty.body["errors"]
    clock.advance(seconds=1)  # the requester's DMs keep Slack's pace: a burst, then 1/s
    slack.submit(view, {"note": "Laptop handed over"}, user_id="U0ONCALL1")
    assert "Laptop handed over" in dms(fake_slack, "U0REQ")[-1].args["text"]
    team_message = fake_slack.message(team_call[0].response["channel"], team_call[0].response["ts"])
    clock.advance(seconds=1)
    slack.click(team_message, "request_close", user_id="U0ONCALL1", channel_id="DU0ONCALL1")
    assert "closed" in dms(fake_slack, "U0REQ")[-1].args["text"]
    with database.session() as session:
        assert requests.get(session, key="REQ-1").status == "closed"
    slack.command("/request", "show REQ-1", user_id="U0REQ")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "Audit trail" in shown and "approved" in shown and "fulfil" in shown
    # Fulfilled at once: both targets met.
    assert "*SLA*" in shown and "Response: :white_check_mark: met" in shown
    assert "Fulfilment: :white_check_mark: met" in shown
    slack.command("/request", "list all", user_id="U0REQ")
    assert "none" in str(fake_slack.calls("response_url")[-1].args)


def test_reject_needs_a_reason_that_the_requester_sees(slack, fake_slack, database):
    submit_laptop(slack, fake_slack)
    message = approval_message(fake_slack, "U0BOSS")
    slack.click(message, "request_reject", user_id="U0BOSS", channel_id="DU0BOSS")
    view = latest_view(fake_slack)
    no_reason = slack.submit(view, {"reason": "  "}, user_id="U0BOSS")
    assert no_reason.body["response_action"] == "errors" and "reason" in no_reason.body["errors"]
    with database.session() as session:
        assert requests.get(session, key="REQ-1").status == "awaiting_approval"
    slack.submit(view, {"reason": "You got one last month"}, user_id="U0BOSS")
    with database.session() as session:
        assert requests.get(session, key="REQ-1").status == "rejected"
    assert "You got one last month" in dms(fake_slack, "U0REQ")[-1].args["text"]
    assert not dms(fake_slack, "U0ONCALL1")


def test_request_list_help_and_unknown(slack, fake_slack, database):
    submit_laptop(slack, fake_slack)
    slack.command("/request", "list", user_id="U0REQ")
    assert "REQ-1" in str(fake_slack.calls("response_url")[-1].args)
    slack.command("/request", "help", user_id="U0REQ")
    assert "/request show" in fake_slack.calls("response_url")[-1].args["text"]
    slack.command("/request", "frobnicate", user_id="U0REQ")
    assert "not a request sub-command" in fake_slack.calls("response_url")[-1].args["text"]


def test_request_made_while_slack_is_down_reaches_its_approver_later(
    slack, fake_slack, database, clock, ctx
):
    from schedules.scheduler import run_once

    ctx.directory.warm(ctx.policy)  # as at start-up: group members are known before the outage
    slack.command("/request", "laptop", user_id="U0REQ", channel_id="C0WORK")
    view = latest_view(fake_slack)
    fake_slack.down(True)
    try:
        result = slack.submit(view, {"model": "13 inch", "reason": "Broken"}, user_id="U0REQ")
    finally:
        fake_slack.down(False)
    assert result.status == 200 and not result.body
    assert not [c for c in dms(fake_slack, "U0BOSS") if not c.failed]
    clock.advance(minutes=5)
    for _ in range(2):
        run_once(db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier)
    asks = [c for c in dms(fake_slack, "U0BOSS") if not c.failed]
    assert len(asks) == 1 and "request_approve" in str(asks[0].args["blocks"])
    told = [c for c in dms(fake_slack, "U0REQ") if not c.failed]
    assert len(told) == 1 and "REQ-1" in told[0].args["text"]
