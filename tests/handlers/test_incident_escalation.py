"""A functional escalation pages the new team through its ladder, which climbs until someone
acknowledges."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.audit import AuditEntry
from schedules.scheduler import run_once
from services import incidents
from tests.handlers.test_incident_flow import channel_message, latest_view, log_incident

LADDER = """
[escalation]
page_ack_timeout = "10m"
"""


def test_functional_escalation_pages_the_new_team_and_climbs_its_ladder(
    slack, fake_slack, database, clock, ctx
):
    # The network team gets a two-rung ladder: its on-call, then its lead.
    from bot.policy import parse_policy
    from tests.conftest import TEST_POLICY

    ctx.policy = parse_policy(
        TEST_POLICY.replace(
            'on_call = "U0NETONCALL"',
            'on_call = "U0NETONCALL"\nescalation_ladder = ["U0NETONCALL", "U0NETLEAD"]',
        )
        + LADDER
    )
    log_incident(slack, fake_slack, impact="medium", urgency="medium")  # P3: no page at logging
    message = channel_message(fake_slack, database)
    slack.click(message, "incident_acknowledge", user_id="U0AGENT1", channel_id="C0INCIDENTS")
    slack.click(
        channel_message(fake_slack, database),
        "incident_escalate",
        user_id="U0AGENT1",
        channel_id="C0INCIDENTS",
    )
    result = slack.submit(
        latest_view(fake_slack),
        {"escalation_kind": "functional", "team": "network", "note": "VPN side"},
        user_id="U0AGENT1",
    )
    assert result.status == 200 and not result.body
    pages = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "DU0NETONCALL"]
    assert len(pages) == 1
    clock.advance(minutes=11)  # nobody acknowledged: the next rung is paged, once
    for _ in range(2):
        run_once(db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier)
    lead_pages = [
        c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "DU0NETLEAD"
    ]
    assert len(lead_pages) == 1
    slack.click(
        lead_pages[0].args["blocks"],
        "page_acknowledge",
        user_id="U0NETLEAD",
        channel_id="DU0NETLEAD",
    )
    clock.advance(timedelta(hours=1))
    run_once(db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier)
    with database.session() as session:
        actions = [
            (e.action, e.note)
            for e in session.exec(select(AuditEntry).where(AuditEntry.record_key == "INC-1"))
        ]
    assert ("page acknowledged", None) in actions
    assert sum(1 for a, _ in actions if a == "paged") == 1


def test_pages_are_acknowledged_by_on_call_staff_only(slack, fake_slack, database):
    # vpn belongs to network, whose on-call U0NETONCALL is not a service desk agent.
    log_incident(slack, fake_slack, title="VPN down for everyone", service="vpn")
    pages = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "DU0NETONCALL"]
    assert len(pages) == 1
    slack.click(
        pages[0].args["blocks"], "page_acknowledge", user_id="U0STRANGER", channel_id="DU0STRANGER"
    )
    assert "on-call staff" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(
        pages[0].args["blocks"],
        "page_acknowledge",
        user_id="U0NETONCALL",
        channel_id="DU0NETONCALL",
    )
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert incident.status == "in_progress" and incident.assignee == "U0NETONCALL"
