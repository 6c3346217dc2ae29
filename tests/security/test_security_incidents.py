"""Security incidents end to end through signed requests, the real Bolt App and the fake Slack:
logged restricted (checkbox or category), announced only in the security channel, paged and
notified only to the security team, listed and shown to others as "Restricted incident INC-n",
moved into and out of the restricted state by the security team with the messages redacted and
revealed in place."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from models.audit import AuditEntry
from models.notification import Notification
from schedules.scheduler import run_once
from tests.security.conftest import (
    AGENT,
    INCIDENTS,
    REPORTER,
    SEC1,
    SEC2,
    SECURITY_CHANNEL,
    incident,
    log,
    posted_to,
)

TITLE = "Phishing wave hits payroll"


def _ephemeral(fake_slack) -> str:
    return json.dumps([c.args for c in fake_slack.calls("response_url")][-1])


def test_the_checkbox_restricts_it_and_only_the_security_channel_hears_of_it(
    slack, fake_slack, database
):
    log(slack, fake_slack)
    found = incident(database)
    assert found.restricted is True
    assert found.channel_id == SECURITY_CHANNEL
    assert not posted_to(fake_slack, INCIDENTS)
    assert TITLE in json.dumps(posted_to(fake_slack, SECURITY_CHANNEL))
    # The New incident form offers the checkbox because a security channel is configured.
    form = fake_slack.view(fake_slack.calls("views.open")[0].response["view"]["id"])
    assert "Security incident" in json.dumps(form["blocks"])


def test_a_security_category_restricts_it_and_an_ordinary_one_does_not(slack, fake_slack, database):
    log(slack, fake_slack, security=False, category="security")
    log(slack, fake_slack, title="Printer jam", security=False, category="hardware")
    assert incident(database, "INC-1").restricted is True
    assert incident(database, "INC-2").restricted is False
    assert incident(database, "INC-2").channel_id == INCIDENTS


def test_a_p1_pages_the_security_team_not_the_services_on_call(slack, fake_slack, database, ctx):
    log(slack, fake_slack, impact="high", urgency="high")
    run_once(db=database, clock=ctx.clock, policy=ctx.policy, notifier=ctx.notifier)
    paged = {c.args["channel"] for c in fake_slack.calls("chat.postMessage")}
    assert f"D{SEC1}" in paged
    assert "DU0ONCALL1" not in paged and "S0PLATONCALL" not in paged
    with database.session() as session:
        pages = session.exec(select(Notification).where(Notification.kind == "page")).all()
    # The group's row, and one per member once the notifier expanded it.
    assert {p.recipient for p in pages} == {"S0SECURITY", SEC1, SEC2}


def test_sla_notifications_go_only_to_the_security_team_and_its_channel(
    slack, fake_slack, database, ctx, clock
):
    log(slack, fake_slack)  # P3: 4 business hours to respond
    clock.advance(hours=30)  # past the response target on the business calendar
    for _ in range(2):
        run_once(db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier)
    with database.session() as session:
        rows = session.exec(select(Notification).where(Notification.kind == "sla")).all()
    assert rows, "the response target was breached, so there are notifications"
    assert {r.recipient for r in rows} <= {"S0SECURITY", SEC1, SEC2, SECURITY_CHANNEL}
    told = {c.args["channel"] for c in fake_slack.calls("chat.postMessage")}
    assert "C0ESCALATE" not in told and INCIDENTS not in told and "DU0LEAD" not in told


def test_others_see_restricted_incident_in_list_and_the_security_team_sees_it_all(
    slack, fake_slack, database
):
    log(slack, fake_slack)
    slack.command("/incident", "list", user_id=AGENT)
    seen = _ephemeral(fake_slack)
    assert "Restricted incident INC-1" in seen and TITLE not in seen and "payments" not in seen
    slack.command("/incident", "list payments", user_id=AGENT)
    assert "INC-1" not in _ephemeral(fake_slack)  # a filter would say its service
    slack.command("/incident", "list", user_id=SEC2)
    assert TITLE in _ephemeral(fake_slack)
    slack.command("/incident", "show INC-1", user_id=AGENT)
    refused = _ephemeral(fake_slack)
    assert "restricted incident" in refused and TITLE not in refused
    for person in (SEC2, REPORTER):  # the security team and the people working it
        slack.command("/incident", "show INC-1", user_id=person)
        assert TITLE in _ephemeral(fake_slack)


def test_only_the_security_team_restricts_and_the_messages_are_redacted_and_revealed(
    slack, fake_slack, database
):
    log(slack, fake_slack, security=False)
    public = incident(database)
    assert public.channel_id == INCIDENTS
    slack.command("/incident", "restrict INC-1 phishing suspected", user_id=AGENT)
    assert "only the security team can restrict" in _ephemeral(fake_slack)
    assert incident(database).restricted is False

    slack.command("/incident", "restrict INC-1 phishing suspected", user_id=SEC1)
    moved = incident(database)
    assert moved.restricted is True and moved.channel_id == SECURITY_CHANNEL
    # The shared channel's message is redacted in place; the full one is in the security channel.
    left = fake_slack.message(INCIDENTS, public.message_ts)
    assert "Restricted incident INC-1" in left["text"] and TITLE not in json.dumps(left)
    assert TITLE in json.dumps(fake_slack.message(SECURITY_CHANNEL, moved.message_ts))
    with database.session() as session:
        trail = session.exec(
            select(AuditEntry).where(AuditEntry.action.in_(["restricted", "unrestricted"]))  # type: ignore[attr-defined]
        ).all()
    assert [(t.actor, t.to_value, t.note) for t in trail] == [(SEC1, "True", "phishing suspected")]

    slack.command("/incident", "unrestrict INC-1 false alarm", user_id=SEC1)
    back = incident(database)
    assert back.restricted is False and back.message_ts == public.message_ts
    assert TITLE in json.dumps(fake_slack.message(INCIDENTS, public.message_ts))
    gone = fake_slack.message(SECURITY_CHANNEL, moved.message_ts)
    assert "no longer restricted" in gone["text"] and TITLE not in json.dumps(gone)


def test_restricted_at_birth_then_released_is_posted_in_the_incidents_channel(
    slack, fake_slack, database
):
    log(slack, fake_slack)
    slack.command("/incident", "unrestrict INC-1 not a security matter", user_id=SEC2)
    released = incident(database)
    assert released.channel_id == INCIDENTS and released.message_ts
    assert TITLE in json.dumps(fake_slack.message(INCIDENTS, released.message_ts))


def test_the_security_team_works_it_and_an_agent_outside_it_is_refused(slack, fake_slack, database):
    log(slack, fake_slack)
    message = fake_slack.message(SECURITY_CHANNEL, incident(database).message_ts)
    slack.click(message, "incident_acknowledge", user_id=AGENT, channel_id=SECURITY_CHANNEL)
    assert incident(database).status == "new"
    assert "restricted incident" in _ephemeral(fake_slack)
    slack.click(message, "incident_acknowledge", user_id=SEC1, channel_id=SECURITY_CHANNEL)
    worked = incident(database)
    assert worked.status == "in_progress" and worked.assignee == SEC1


def test_a_hierarchical_escalation_tells_the_security_team_in_its_channel(
    slack, fake_slack, database
):
    log(slack, fake_slack)
    message = fake_slack.message(SECURITY_CHANNEL, incident(database).message_ts)
    slack.click(message, "incident_escalate", user_id=SEC1, channel_id=SECURITY_CHANNEL)
    view = fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])
    result = slack.submit(
        view, {"escalation_kind": "hierarchical", "note": "needs the CISO"}, user_id=SEC1
    )
    assert result.status == 200 and not result.body
    told = {c.args["channel"] for c in fake_slack.calls("chat.postMessage")}
    assert SEC2 in told and "C0ESCALATE" not in told and "U0LEAD" not in told


def test_a_restricted_major_incident_gets_a_private_channel_with_only_its_people(
    slack, fake_slack, database
):
    log(slack, fake_slack, impact="high", urgency="high")
    created = fake_slack.calls("conversations.create")[-1]
    assert created.args["is_private"] in (True, "true", "True", "1")
    assert "phishing" not in created.args["name"]
    channel = fake_slack.channel(created.response["channel"]["id"])
    assert set(channel["members"]) == {REPORTER, SEC1, SEC2}


def test_reports_count_it_without_describing_it(slack, fake_slack, database, clock):
    log(slack, fake_slack)
    clock.advance(timedelta(days=40))
    before = len(fake_slack.calls())
    slack.command("/servicedesk", "report 2026-11", user_id=AGENT)
    said = json.dumps([c.args for c in fake_slack.calls()[before:]])
    assert "Incidents" in said
    assert TITLE not in said and "(restricted) 1" in said and "payments 1" not in said
