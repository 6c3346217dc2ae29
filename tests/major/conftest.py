"""Major incidents: the shared test policy plus a stakeholders channel, a customer agreement on
payments with a contact, and the helpers the tests drive Slack with."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.incident import Incident
from tests.conftest import TEST_POLICY

MAJOR_POLICY = (
    TEST_POLICY.replace(
        'escalations = "C0ESCALATE"',
        'escalations = "C0ESCALATE"\nstakeholders = "C0STAKE"',
    )
    + """
[[agreements]]
name = "Acme gold"
customer = "Acme"
services = ["payments"]
owner = "U0OWNER"
review_every = "annually"

[[customers]]
name = "Globex"
services = ["payments"]
contact = "U0GLOBEX"

[major_incidents]
update_every = { P1 = "30m" }
missed_after = "10m"
review_within = 5
customer_contacts = { Acme = ["U0ACMECONTACT"] }
"""
)

REPORTER = "U0REPORTER"
AGENT = "U0AGENT1"
AGENT2 = "U0AGENT2"
STRANGER = "U0STRANGER"
INCIDENTS = "C0INCIDENTS"


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    from bot.policy import parse_policy

    return parse_policy(MAJOR_POLICY)


def log(slack, fake_slack, *, title="Payments API returns 500", impact="high", urgency="high"):  # type: ignore[no-untyped-def]
    slack.command("/incident", title, user_id=REPORTER, channel_id="C0WORK")
    view = fake_slack.view(fake_slack.wait_for("views.open")[-1].response["view"]["id"])
    result = slack.submit(
        view,
        {"title": title, "impact": impact, "urgency": urgency, "service": "payments"},
        user_id=REPORTER,
    )
    assert result.status == 200, result.body


def incident(database, key: str = "INC-1") -> Incident:
    with database.session() as session:
        return session.exec(select(Incident).where(Incident.id == int(key[4:]))).one()


def message(fake_slack, database, key: str = "INC-1") -> dict:
    found = incident(database, key)
    return fake_slack.message(found.channel_id, found.message_ts)


def latest_view(fake_slack) -> dict:
    return fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])


def posts(fake_slack, channel: str) -> list[str]:
    return [
        str(c.args.get("text"))
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("channel") == channel and not c.failed
    ]
