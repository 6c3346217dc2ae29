"""Request approval and problem buttons check who clicked before anything happens or any form
opens."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.audit import AuditEntry
from tests.handlers.issue5_support import issue5_policy
from tests.handlers.test_request_flow import approval_message, submit_laptop


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return issue5_policy()


@pytest.fixture(autouse=True)
def approvers(fake_slack):  # type: ignore[no-untyped-def]
    fake_slack.set_usergroup("S0APPROVERS", ["U0BOSS", "U0REQ"])


def _buttons(message: dict) -> list[str]:
    return [
        element["action_id"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    ]


def _audit_count(database) -> int:
    with database.session() as session:
        return len(session.exec(select(AuditEntry)).all())


def _problem_message(slack, fake_slack) -> dict:
    slack.command("/problem", "", user_id="U0AGENT1")
    view = fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])
    result = slack.submit(view, {"title": "Disk fills up", "priority": "3"}, user_id="U0AGENT1")
    assert result.status == 200 and not result.body
    found = [
        m
        for m in fake_slack.messages()
        if "problem_actions" in str(m.get("blocks")) and not m.get("thread_ts")
    ]
    return found[-1]


def test_strangers_are_refused_on_requests_and_problems(slack, fake_slack, database, caplog):
    submit_laptop(slack, fake_slack)
    approval = approval_message(fake_slack, "U0BOSS")
    problem = _problem_message(slack, fake_slack)
    before = _audit_count(database)
    refusals = {
        "request": "Refused, because only members of <!subteam^S0APPROVERS> can decide on "
        "REQ-1, and you are not (or no longer) one of them.",
        "problem": "Refused, because only service desk agents can work on problems. Ask an "
        "agent, or an admin to add you.",
    }
    # Every button is tried: an empty list would make the loop below prove nothing.
    assert _buttons(approval) == ["request_approve", "request_reject"]
    assert _buttons(problem) == [
        "problem_investigate",
        "problem_known_error",
        "problem_resolve",
        "problem_link",
    ]
    clicked = []
    for message in (approval, problem):
        for action_id in _buttons(message):
            answers = len(fake_slack.calls("response_url"))
            opened = len(fake_slack.calls("views.open"))
            result = slack.click(message, action_id, user_id="U0STRANGER", channel_id="C0INCIDENTS")
            assert result.status == 200, f"{action_id} was not dispatched"
            assert len(fake_slack.calls("views.open")) == opened, f"{action_id} opened a form"
            answered = fake_slack.calls("response_url")[answers:]
            assert [a.args["text"] for a in answered] == [refusals[action_id.split("_")[0]]]
            assert answered[0].args["replace_original"] is False
            clicked.append(action_id)
    assert len(clicked) == 6
    assert _audit_count(database) == before
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
