"""Security incidents: the shared test policy plus the security team (a user group), its
private channel, a security category and a security approver for changes; and the helpers the
tests log and find incidents with."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.incident import Incident
from tests.conftest import TEST_POLICY

SECURITY_CHANNEL = "G0SECURITY"
INCIDENTS = "C0INCIDENTS"
SEC1 = "U0SEC1"  # in the security team
SEC2 = "U0SEC2"
REPORTER = "U0REPORTER"
AGENT = "U0AGENT1"  # an agent, not in the security team
STRANGER = "U0STRANGER"
CISO = "U0CISO"  # the security approver of changes

SECURITY_POLICY = (
    TEST_POLICY.replace(
        'escalations = "C0ESCALATE"',
        f'escalations = "C0ESCALATE"\nsecurity = "{SECURITY_CHANNEL}"',
    ).replace('admins = ["U0ADMIN"]', 'admins = ["U0ADMIN"]\nsecurity = ["S0SECURITY"]')
    + f"""
[incidents]
security_categories = ["security"]

[changes]
security_approvers = ["{CISO}"]
"""
)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    from bot.policy import parse_policy

    return parse_policy(SECURITY_POLICY)


@pytest.fixture
def fake_slack(fake_slack):  # type: ignore[no-untyped-def]
    fake_slack.set_usergroup("S0SECURITY", [SEC1, SEC2])
    return fake_slack


def log(  # type: ignore[no-untyped-def]
    slack,
    fake_slack,
    *,
    title="Phishing wave hits payroll",
    description="Credentials of three people phished",
    impact="medium",
    urgency="medium",
    service="payments",
    security=True,
    category=None,
    user=REPORTER,
):
    slack.command("/incident", title, user_id=user, channel_id="C0WORK")
    view = fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])
    answers = {
        "title": title,
        "description": description,
        "impact": impact,
        "urgency": urgency,
        "service": service,
    }
    if security:
        answers["security"] = ["yes"]
    if category:
        answers["category"] = category
    result = slack.submit(view, answers, user_id=user)
    assert result.status == 200, result.body


def incident(database, key: str = "INC-1") -> Incident:
    with database.session() as session:
        return session.exec(select(Incident).where(Incident.id == int(key[4:]))).one()


def posted_to(fake_slack, channel: str) -> list[dict]:
    return [
        c.args
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("channel") == channel and not c.failed
    ]
