"""/ci, the item type-ahead, and incidents logged on configuration items, through Bolt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from models.change import ChangeInput, ChangeType, Risk
from models.incident import Incident
from services import changes, cmdb, links, requests
from tests.handlers.issue5_support import build_chain, issue5_policy
from tests.handlers.test_incident_flow import channel_message, latest_view, log_incident


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return issue5_policy()


def test_ci_show_through_a_chain_shows_the_affected_service(slack, fake_slack, database, clock):
    keys = build_chain(database, clock)
    slack.command("/ci", f"show {keys['server']}", user_id="U0AGENT1")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "web-01" in shown and "*Affects services*: payments" in shown
    assert "checkout-app" in shown  # hosted on it
    slack.command("/ci", "show checkout-app", user_id="U0AGENT1")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "*Used by*: payments" in shown and "*Runs on*: web-01" in shown
    slack.command("/ci", "show CI-99", user_id="U0AGENT1")
    assert "no configuration item CI-99" in fake_slack.calls("response_url")[-1].args["text"]
    slack.command("/ci", "web", user_id="U0AGENT1")
    listing = str(fake_slack.calls("response_url")[-1].args)
    assert keys["server"] in listing and "server" in listing and "payments" not in listing
    slack.command("/ci", "help", user_id="U0AGENT1")
    assert "/ci show" in fake_slack.calls("response_url")[-1].args["text"]


def test_type_ahead_returns_matching_items(slack, fake_slack, database, clock):
    keys = build_chain(database, clock)
    result = slack.suggest(action_id="service", block_id="service", value="CHECK")
    assert result.status == 200
    values = [o["value"] for o in result.body["options"]]
    assert values == [keys["app"]]
    everything = slack.suggest(action_id="service", block_id="service", value="")
    assert len(everything.body["options"]) == 4  # payments, vpn, checkout-app, web-01
    assert fake_slack.calls("chat.postMessage") == []


def test_incident_on_an_item_lists_affected_services_and_links_it(
    slack, fake_slack, database, clock
):
    keys = build_chain(database, clock)
    slack.command("/incident", "", user_id="U0REPORTER")
    view = fake_slack.view(fake_slack.wait_for("views.open")[-1].response["view"]["id"])
    select_ = next(b["element"] for b in view["blocks"] if b["block_id"] == "service")
    assert select_["type"] == "external_select"
    log_incident(slack, fake_slack, title="Web box is down", service=keys["server"])
    with database.session() as session:
        incident = session.exec(select(Incident)).one()
        assert incident.service == "payments" and incident.team == "platform"
        assert links.linked(session, key="INC-1", kind=cmdb.ITEM_LINK) == [keys["server"]]
        assert cmdb.open_records_for_item(session, key=keys["server"]).incidents == ["INC-1"]
    message = channel_message(fake_slack, database)
    assert "Affects services: payments" in str(message["blocks"])


def test_unknown_item_is_refused_inline(slack, fake_slack, database):
    slack.command("/incident", "", user_id="U0REPORTER")
    view = fake_slack.view(fake_slack.wait_for("views.open")[-1].response["view"]["id"])
    result = slack.submit(
        view, {"title": "Broken", "impact": "low", "urgency": "low", "service": "nonesuch"}
    )
    assert result.body["response_action"] == "errors" and "service" in result.body["errors"]


def test_ci_show_lists_open_changes_and_requests_about_the_item(
    slack, fake_slack, database, clock, policy
):
    start = clock.now() + timedelta(days=2)
    with database.session() as session:
        payments = cmdb.find_by_name(session, name="payments")
        assert payments is not None
        payments_key = payments.key
        changes.create(
            session,
            data=ChangeInput(
                title="Upgrade payments",
                type=ChangeType.NORMAL,
                risk=Risk.LOW,
                targets=["payments"],
                planned_start=start,
                planned_end=start + timedelta(hours=1),
                implementation_plan="Roll out",
                backout_plan="Roll back",
                test_plan="Smoke",
            ),
            requester="U0AGENT1",
            now=clock.now(),
            policy=policy,
        )
    slack.command("/request", "laptop", user_id="U0REQ", channel_id="C0WORK")
    view = latest_view(fake_slack)
    result = slack.submit(
        view, {"model": "13 inch", "reason": "Broken", "about_item": payments_key}, user_id="U0REQ"
    )
    assert result.status == 200 and not result.body
    slack.command("/ci", "show payments", user_id="U0AGENT1")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "*Open changes*: CHG-1" in shown
    assert "REQ-1" in shown
    # An item that does not exist is refused inline, and nothing is requested.
    slack.command("/request", "laptop", user_id="U0REQ", channel_id="C0WORK")
    view = latest_view(fake_slack)
    refused = slack.submit(
        view, {"model": "13 inch", "reason": "Broken", "about_item": "CI-999"}, user_id="U0REQ"
    )
    assert "about_item" in refused.body["errors"]
    with database.session() as session:
        assert len(requests.list_requests(session, open_only=False)) == 1
