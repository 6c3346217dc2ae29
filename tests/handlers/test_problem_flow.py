"""Problems through Bolt: raised from an incident, known errors reaching incident threads, and
repeated incidents proposing one problem."""

from __future__ import annotations

import copy

import pytest
from sqlmodel import select

from models.problem import Problem
from services import problems
from slackstub.requests import fill
from tests.handlers.issue5_support import build_chain, issue5_policy
from tests.handlers.test_incident_flow import channel_message, latest_view, log_incident


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return issue5_policy()


def problem_message(fake_slack) -> dict:
    found = [
        m
        for m in fake_slack.messages("C0INCIDENTS")
        if "problem_actions" in str(m.get("blocks")) and not m.get("thread_ts")
    ]
    assert len(found) == 1
    return found[0]


def test_known_error_workaround_reaches_linked_incident_threads(slack, fake_slack, database, clock):
    log_incident(slack, fake_slack, impact="low", urgency="low")
    incident_message = channel_message(fake_slack, database)
    slack.click(
        incident_message,
        "incident_more",
        selected_option="problem|INC-1",
        user_id="U0AGENT1",
        channel_id="C0INCIDENTS",
    )
    view = latest_view(fake_slack)
    assert view["callback_id"] == "problem_new"
    assert view["blocks"][1]["element"]["initial_value"] == "Payments API returns 500"
    result = slack.submit(
        view,
        {"title": "Payments API returns 500", "service": "payments", "priority": "2"},
        user_id="U0AGENT1",
    )
    assert result.status == 200 and not result.body
    with database.session() as session:
        assert problems.linked_incidents(session, key="PRB-1") == ["INC-1"]
    message = problem_message(fake_slack)
    slack.click(message, "problem_investigate", user_id="U0AGENT1", channel_id="C0INCIDENTS")
    message = problem_message(fake_slack)
    assert "Investigating" in str(message["blocks"])
    slack.click(message, "problem_known_error", user_id="U0AGENT1", channel_id="C0INCIDENTS")
    view = latest_view(fake_slack)
    missing = slack.submit(view, {"root_cause": "Pool too small", "workaround": " "})
    assert missing.body["response_action"] == "errors"
    slack.submit(
        view,
        {"root_cause": "Pool too small", "workaround": "Restart the payments pods"},
        user_id="U0AGENT1",
    )
    in_thread = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("thread_ts") == incident_message["ts"]
        and "Restart the payments pods" in c.args["text"]
    ]
    assert len(in_thread) == 1
    # A new incident on the same service shows the known error in its message.
    log_incident(slack, fake_slack, title="Payments slow again", impact="low", urgency="low")
    with database.session() as session:
        from services import incidents

        second = incidents.get(session, key="INC-2")
    shown = fake_slack.message(second.channel_id, second.message_ts)
    assert "Known error PRB-1: workaround — Restart the payments pods" in str(shown["blocks"])
    # Resolving tells the linked open incidents too.
    message = problem_message(fake_slack)
    slack.click(message, "problem_resolve", user_id="U0AGENT1", channel_id="C0INCIDENTS")
    slack.submit(latest_view(fake_slack), {"note": "Pool enlarged"}, user_id="U0AGENT1")
    assert any(
        c.args.get("thread_ts") == incident_message["ts"] and "resolved" in c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
    )
    slack.command("/problem", "show PRB-1", user_id="U0AGENT1")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "Audit trail" in shown and "INC-1" in shown and "known_error" in shown
    slack.command("/problem", "known-errors", user_id="U0AGENT1")
    assert "none" in str(fake_slack.calls("response_url")[-1].args)


def test_three_incidents_on_an_item_propose_one_problem_raised_once(
    slack, fake_slack, database, clock
):
    keys = build_chain(database, clock)
    for n in range(3):
        clock.advance(minutes=10)
        log_incident(
            slack,
            fake_slack,
            title=f"Checkout down {n}",
            service=keys["app"],
            impact="low",
            urgency="low",
        )
    proposals = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if "problem_raise_proposal" in str(c.args.get("blocks"))
    ]
    assert len(proposals) == 1
    proposal = fake_slack.message(proposals[0].response["channel"], proposals[0].response["ts"])
    slack.click(proposal, "problem_raise_proposal", user_id="U0STRANGER", channel_id="C0INCIDENTS")
    assert "agent" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(proposal, "problem_raise_proposal", user_id="U0AGENT1", channel_id="C0INCIDENTS")
    slack.click(proposal, "problem_raise_proposal", user_id="U0AGENT2", channel_id="C0INCIDENTS")
    with database.session() as session:
        found = session.exec(select(Problem)).all()
        assert len(found) == 1
        assert problems.linked_incidents(session, key=found[0].key) == ["INC-1", "INC-2", "INC-3"]
    assert "already raised" in fake_slack.calls("response_url")[-1].args["text"]
    problem_message(fake_slack)


def test_problem_command_list_help_and_modal(slack, fake_slack, database):
    slack.command("/problem", "", user_id="U0AGENT1")
    view = latest_view(fake_slack)
    refused = slack.submit(view, {"title": "Disk fills", "priority": "3"}, user_id="U0STRANGER")
    assert "agent" in refused.body["errors"]["title"]
    slack.submit(view, {"title": "Disk fills", "priority": "3"}, user_id="U0AGENT1")
    # The same form delivered again (a double click) raises nothing more.
    slack.submit(view, {"title": "Disk fills", "priority": "3"}, user_id="U0AGENT1")
    with database.session() as session:
        raised = session.exec(select(Problem)).all()
        assert [p.key for p in raised] == ["PRB-1"] and raised[0].message_ts
    assert (
        len(
            [
                m
                for m in fake_slack.messages("C0INCIDENTS")
                if "problem_actions" in str(m.get("blocks"))
            ]
        )
        == 1
    )
    slack.command("/problem", "list", user_id="U0AGENT1")
    assert "PRB-1" in str(fake_slack.calls("response_url")[-1].args)
    slack.command("/problem", "help", user_id="U0AGENT1")
    assert "/problem known-errors" in fake_slack.calls("response_url")[-1].args["text"]


def test_the_new_problem_form_shows_each_refusal_by_its_field_and_stores_nothing(
    slack, fake_slack, database, clock
):
    log_incident(slack, fake_slack, impact="low", urgency="low")
    slack.click(
        channel_message(fake_slack, database),
        "incident_more",
        selected_option="problem|INC-1",
        user_id="U0AGENT1",
        channel_id="C0INCIDENTS",
    )
    view = latest_view(fake_slack)
    # A choice that is neither a service nor an item is shown by the choice itself.
    unknown = slack.submit(
        view, {"title": "Slow", "service": "no-such-thing", "priority": "2"}, user_id="U0AGENT1"
    )
    assert unknown.body["response_action"] == "errors"
    assert list(unknown.body["errors"]) == ["service"]
    # A priority out of range (a forged submission: the form offers 1 to 5) is shown by it.
    forged = copy.deepcopy(fill(view, {"title": "Slow", "service": "payments", "priority": "2"}))
    forged["priority"]["priority"]["selected_option"]["value"] = "9"
    bad = slack.submit(view, values=forged, user_id="U0AGENT1")
    assert list(bad.body["errors"]) == ["priority"]
    with database.session() as session:
        assert session.exec(select(Problem)).all() == []
    # Delivered twice, the good one makes one problem.
    for _ in range(2):
        done = slack.submit(
            view, {"title": "Slow", "service": "payments", "priority": "2"}, user_id="U0AGENT1"
        )
        assert done.status == 200 and not done.body
    with database.session() as session:
        assert [p.key for p in session.exec(select(Problem))] == ["PRB-1"]
