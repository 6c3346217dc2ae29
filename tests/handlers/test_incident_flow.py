"""An incident's whole life, driven through signed Slack requests and the real Bolt App."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.audit import AuditEntry
from models.incident import Incident
from services import incidents


def log_incident(
    slack,
    fake_slack,
    *,
    title="Payments API returns 500",
    impact="high",
    urgency="high",
    service="payments",
    user="U0REPORTER",
):
    slack.command("/incident", title, user_id=user, channel_id="C0WORK")
    view = latest_view(fake_slack)
    result = slack.submit(
        view,
        {
            "title": title,
            "impact": impact,
            "urgency": urgency,
            "service": service,
            "description": "Checkout fails",
        },
        user_id=user,
    )
    assert result.status == 200, result.body
    return view, result


def latest_view(fake_slack) -> dict:
    """The modal the bot opened last, as Slack holds it (with its view id)."""
    call = fake_slack.wait_for("views.open")[-1]
    return fake_slack.view(call.response["view"]["id"])


def channel_message(fake_slack, database) -> dict:
    with database.session() as session:
        incident = session.exec(select(Incident)).one()
    return fake_slack.message(incident.channel_id, incident.message_ts)


def test_log_p1_incident_posts_one_message_and_pages_on_call(slack, fake_slack, database):
    view, _ = log_incident(slack, fake_slack)
    assert view["blocks"][0]["element"]["initial_value"] == "Payments API returns 500"
    with database.session() as session:
        incident = session.exec(select(Incident)).one()
        assert (incident.key, incident.priority, incident.status) == ("INC-1", 1, "new")
        assert incident.team == "platform"
    posts = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "C0INCIDENTS" and "thread_ts" not in c.args
    ]
    assert len(posts) == 1
    message = channel_message(fake_slack, database)
    text = str(message["blocks"])
    assert "INC-1" in text and "P1 critical" in text and "New" in text
    action_ids = [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert "incident_acknowledge" in action_ids and "incident_resolve" not in action_ids
    # P1: the platform on-call group's member is paged by direct message.
    pages = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "DU0ONCALL1"]
    assert len(pages) == 1 and "INC-1" in pages[0].args["text"]
    # Acknowledging from the page acknowledges the incident and stops the ladder.
    slack.click(
        pages[0].args["blocks"], "page_acknowledge", user_id="U0ONCALL1", channel_id="DU0ONCALL1"
    )
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert incident.status == "in_progress" and incident.assignee == "U0ONCALL1"
        acknowledged = session.exec(
            select(AuditEntry).where(
                AuditEntry.record_key == "INC-1", AuditEntry.action == "page acknowledged"
            )
        ).all()
        assert len(acknowledged) == 1


def test_double_submit_creates_one_incident(slack, fake_slack, database):
    view, _ = log_incident(slack, fake_slack)
    again = slack.submit(
        view,
        {
            "title": "Payments API returns 500",
            "impact": "high",
            "urgency": "high",
            "service": "payments",
        },
        user_id="U0REPORTER",
        retry_num=1,
    )
    assert again.status == 200
    with database.session() as session:
        assert len(session.exec(select(Incident)).all()) == 1
    posts = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "C0INCIDENTS" and "thread_ts" not in c.args
    ]
    assert len(posts) == 1


def test_empty_and_oversized_title_get_inline_errors(slack, fake_slack, database):
    slack.command("/incident", "", user_id="U0REPORTER")
    view = latest_view(fake_slack)
    empty = slack.submit(view, {"title": "   ", "impact": "low", "urgency": "low"})
    assert empty.body["response_action"] == "errors"
    assert "title" in empty.body["errors"]
    long = slack.submit(view, {"title": "x" * 151, "impact": "low", "urgency": "low"})
    assert "150" in long.body["errors"]["title"]
    missing = slack.submit(view, {"title": "Printer on fire"})
    assert set(missing.body["errors"]) == {"impact", "urgency"}
    with database.session() as session:
        assert session.exec(select(Incident)).all() == []


def test_full_lifecycle_from_buttons_with_audit_trail(slack, fake_slack, database, clock):
    log_incident(slack, fake_slack)
    clock.advance(minutes=5)
    message = channel_message(fake_slack, database)
    # Someone who is not an agent cannot acknowledge.
    slack.click(message, "incident_acknowledge", user_id="U0STRANGER", channel_id="C0INCIDENTS")
    refusal = fake_slack.calls("response_url")[-1]
    assert "agent" in refusal.args["text"]
    slack.click(message, "incident_acknowledge", user_id="U0AGENT1", channel_id="C0INCIDENTS")
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert incident.status == "in_progress" and incident.assignee == "U0AGENT1"
    stale = message
    message = channel_message(fake_slack, database)
    assert "In progress" in str(message["blocks"])
    assert not _has(message, "incident_acknowledge")
    # Acknowledging again (from a copy of the message that still shows the button) is
    # refused, in plain words, and changes nothing.
    slack.click(stale, "incident_acknowledge", user_id="U0AGENT2", channel_id="C0INCIDENTS")
    assert fake_slack.calls("response_url")[-1].args["text"] == (
        "INC-1 is In progress, so it cannot be acknowledged now; "
        "that is only possible when it is New."
    )
    with database.session() as session:
        assert incidents.get(session, key="INC-1").assignee == "U0AGENT1"

    # Escalate hierarchically: the team lead gets a DM with an Acknowledge button.
    slack.click(message, "incident_escalate", user_id="U0AGENT1", channel_id="C0INCIDENTS")
    view = latest_view(fake_slack)
    assert view["callback_id"] == "incident_escalate_view"
    result = slack.submit(
        view, {"escalation_kind": "hierarchical", "note": "Customers waiting"}, user_id="U0AGENT1"
    )
    assert result.status == 200 and not result.body
    lead_dms = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "U0LEAD"]
    assert len(lead_dms) == 1
    assert any(c.args["channel"] == "C0ESCALATE" for c in fake_slack.calls("chat.postMessage"))
    # The lead acknowledges from the direct message; a second click counts once.
    for _ in range(2):
        slack.click(
            lead_dms[0].args["blocks"],
            "incident_escalation_acknowledge",
            user_id="U0LEAD",
            channel_id="DU0LEAD",
        )
    assert "already acknowledged" in fake_slack.calls("response_url")[-1].args["text"]
    with database.session() as session:
        taken = session.exec(
            select(AuditEntry).where(
                AuditEntry.record_key == "INC-1", AuditEntry.action == "escalation acknowledged"
            )
        ).all()
        assert [e.actor for e in taken] == ["U0LEAD"]

    # Resolve needs a code and a note.
    clock.advance(hours=1)
    message = channel_message(fake_slack, database)
    slack.click(message, "incident_resolve", user_id="U0AGENT1", channel_id="C0INCIDENTS")
    view = latest_view(fake_slack)
    no_note = slack.submit(view, {"resolution_code": "fixed", "note": " "}, user_id="U0AGENT1")
    assert no_note.body["response_action"] == "errors"
    done = slack.submit(
        view, {"resolution_code": "fixed", "note": "Rolled back the deploy"}, user_id="U0AGENT1"
    )
    assert done.status == 200
    message = channel_message(fake_slack, database)
    assert _has(message, "incident_close") and _has(message, "incident_reopen")
    assert not _has(message, "incident_resolve")
    slack.click(message, "incident_close", user_id="U0AGENT1", channel_id="C0INCIDENTS")
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert incident.status == "closed"
        actions = [
            e.action
            for e in session.exec(
                select(AuditEntry).where(AuditEntry.record_key == "INC-1").order_by(AuditEntry.id)
            )
        ]
    # A P1 is a major incident from the start (issue 13): declared, its acknowledger commander.
    assert actions[:3] == ["created", "paged", "declared_major"]
    assert actions[3:5] == ["acknowledge", "assigned"] and "role" in actions
    assert "escalated" in actions and actions[-2:] == ["resolve", "close"]
    # Steps are posted in the thread, the channel message is updated in place.
    thread = [c for c in fake_slack.calls("chat.postMessage") if c.args.get("thread_ts")]
    assert len(thread) >= 5
    assert len(fake_slack.calls("chat.update")) >= 4


def _has(message: dict, action_id: str) -> bool:
    return any(
        e.get("action_id") == action_id
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    )


def test_move_outside_lifecycle_is_refused_with_explanation(slack, fake_slack, database):
    log_incident(slack, fake_slack, impact="low", urgency="low")
    message = channel_message(fake_slack, database)
    # An old message still showing Resolve: the lifecycle refuses it while New.
    stale = {
        "blocks": [
            {
                "type": "actions",
                "block_id": "x",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "incident_resolve",
                        "value": '{"key":"INC-1"}',
                        "text": {"type": "plain_text", "text": "Resolve"},
                    }
                ],
            }
        ],
        "ts": message["ts"],
    }
    slack.click(stale, "incident_resolve", user_id="U0AGENT1", channel_id="C0INCIDENTS")
    refusal = fake_slack.calls("response_url")[-1].args["text"]
    assert "INC-1 is New" in refusal and "In progress" in refusal
    assert fake_slack.calls("views.open")[-1].args["view"]["callback_id"] == "incident_new"


def test_list_show_help_and_unknown(slack, fake_slack, database, clock):
    log_incident(
        slack,
        fake_slack,
        title="VPN drops every hour",
        service="vpn",
        impact="medium",
        urgency="low",
    )
    clock.advance(timedelta(minutes=1))
    log_incident(slack, fake_slack, title="Card payments declined")
    slack.command("/incident", "list", user_id="U0AGENT1")
    listing = str(fake_slack.calls("response_url")[-1].args)
    assert listing.index("INC-2") < listing.index("INC-1")
    slack.command("/incident", "list P1", user_id="U0AGENT1")
    listing = str(fake_slack.calls("response_url")[-1].args)
    assert "INC-2" in listing and "INC-1" not in listing
    slack.command("/incident", "list vpn", user_id="U0AGENT1")
    listing = str(fake_slack.calls("response_url")[-1].args)
    assert "INC-1" in listing and "INC-2" not in listing
    slack.command("/incident", "show inc-1", user_id="U0AGENT1")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "Audit trail" in shown and "created" in shown and "Response due" in shown
    slack.command("/incident", "show INC-99", user_id="U0AGENT1")
    assert "no incident INC-99" in fake_slack.calls("response_url")[-1].args["text"]
    slack.command("/incident", "help", user_id="U0AGENT1")
    assert "/incident list" in fake_slack.calls("response_url")[-1].args["text"]
    slack.command("/incident", "frobnicate", user_id="U0AGENT1")
    assert "not an incident sub-command" in fake_slack.calls("response_url")[-1].args["text"]


def test_show_lists_the_notifications_sent(slack, fake_slack, database):
    log_incident(slack, fake_slack)  # P1: the on-call is paged
    slack.command("/incident", "show INC-1", user_id="U0AGENT1")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "*Notifications*" in shown and "page ladder:platform:0" in shown and "sent" in shown


def test_resolved_incident_closes_itself_and_its_message_follows(
    slack, fake_slack, database, clock, ctx
):
    from composition import hooks_for
    from schedules.scheduler import run_once

    log_incident(slack, fake_slack, impact="low", urgency="low")
    message = channel_message(fake_slack, database)
    slack.click(message, "incident_acknowledge", user_id="U0AGENT1", channel_id="C0INCIDENTS")
    slack.click(
        channel_message(fake_slack, database),
        "incident_resolve",
        user_id="U0AGENT1",
        channel_id="C0INCIDENTS",
    )
    slack.submit(
        latest_view(fake_slack), {"resolution_code": "fixed", "note": "Cleared"}, user_id="U0AGENT1"
    )
    hooks = hooks_for(ctx)
    clock.advance(timedelta(days=2))
    run_once(db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks)
    with database.session() as session:
        assert incidents.get(session, key="INC-1").status == "resolved"
    clock.advance(timedelta(days=1, minutes=1))
    for _ in range(2):
        run_once(db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks)
    with database.session() as session:
        assert incidents.get(session, key="INC-1").status == "closed"
    message = channel_message(fake_slack, database)
    assert "Closed" in str(message["blocks"]) and not _has(message, "incident_reopen")
    thread = [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("thread_ts") == message["ts"]
    ]
    assert sum("Closed automatically" in text for text in thread) == 1


def test_incident_logged_while_slack_is_down_is_announced_and_paged_once_it_is_back(
    slack, fake_slack, database, clock, ctx
):
    from composition import hooks_for
    from schedules.scheduler import run_once

    slack.command("/incident", "Payments down", user_id="U0REPORTER", channel_id="C0WORK")
    view = latest_view(fake_slack)
    fake_slack.down(True)
    try:
        result = slack.submit(
            view,
            {"title": "Payments down", "impact": "high", "urgency": "high", "service": "payments"},
            user_id="U0REPORTER",
        )
    finally:
        fake_slack.down(False)
    assert result.status == 200 and not result.body  # the record is kept whatever Slack does
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert incident.channel_id is None and incident.message_ts is None
    hooks = hooks_for(ctx)
    clock.advance(minutes=2)
    for _ in range(2):
        run_once(db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks)
    message = channel_message(fake_slack, database)
    assert "INC-1" in str(message["blocks"])
    top_level = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "C0INCIDENTS" and "thread_ts" not in c.args and not c.failed
    ]
    assert len(top_level) == 1
    pages = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "DU0ONCALL1" and not c.failed
    ]
    assert len(pages) == 1


def test_a_refused_form_writes_nothing_and_says_so_by_its_field(slack, fake_slack, database):
    """The chosen service is read, and the incident written, in one transaction: a refusal at
    either step leaves no incident, no audit row and no SLA timer, and a fixed form goes in."""
    from models.sla_timer import SlaTimer
    from slackstub.requests import fill

    with database.session() as session:
        # The policy's services as configuration items, written at start-up.
        before = [e.record_key for e in session.exec(select(AuditEntry))]
    slack.command("/incident", "", user_id="U0REPORTER", channel_id="C0WORK")
    view = latest_view(fake_slack)
    fields = {"title": "Checkout down", "impact": "high", "urgency": "high"}
    unknown = slack.submit(view, {**fields, "service": "nowhere"}, user_id="U0REPORTER")
    assert list(unknown.body["errors"]) == ["service"]
    assert "nowhere" in unknown.body["errors"]["service"]
    # A category the form never offered (a forged submission): refused by incidents.create,
    # after the service was read, and shown by the title.
    state = fill(view, {**fields, "service": "payments", "category": "network"})
    state["category"]["category"]["selected_option"]["value"] = "made-up"
    forged = slack.submit(view, values=state, user_id="U0REPORTER")
    assert forged.body == {
        "response_action": "errors",
        "errors": {"title": "'made-up' is not a known category."},
    }
    with database.session() as session:
        assert session.exec(select(Incident)).all() == []
        assert [e.record_key for e in session.exec(select(AuditEntry))] == before
        assert session.exec(select(SlaTimer)).all() == []
    fixed = slack.submit(view, {**fields, "service": "payments"}, user_id="U0REPORTER")
    assert fixed.status == 200 and not fixed.body
    with database.session() as session:
        assert [i.key for i in session.exec(select(Incident))] == ["INC-1"]
        trail = [(e.record_key, e.action) for e in session.exec(select(AuditEntry))]
        assert [key for key, _ in trail[: len(before)]] == before
        assert trail[len(before)] == ("INC-1", "created")
        assert len(session.exec(select(SlaTimer)).all()) == 2
