"""Major incidents end to end through signed requests, the real Bolt App and the fake Slack:
declared at P1 or by button, their own channel (name, clash, refusal), roles, status updates
and their reminders, the timeline and "Add to timeline"."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from models.audit import AuditEntry
from models.major_incident import MajorIncident
from models.notification import Notification
from services import major_incidents
from tests.major.conftest import (
    AGENT,
    AGENT2,
    INCIDENTS,
    REPORTER,
    STRANGER,
    incident,
    latest_view,
    log,
    message,
    posts,
)


def _major(database, key: str = "INC-1") -> MajorIncident:
    with database.session() as session:
        return major_incidents.get(session, key=key)


def _audit(database, action: str) -> list[AuditEntry]:
    with database.session() as session:
        statement = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(session.exec(statement))


def _summary(fake_slack, database) -> dict:
    major = _major(database)
    return fake_slack.message(major.channel_id, major.summary_ts)


def _acknowledge(slack, fake_slack, database, user=AGENT):  # type: ignore[no-untyped-def]
    slack.click(
        message(fake_slack, database), "incident_acknowledge", user_id=user, channel_id=INCIDENTS
    )


def test_a_p1_gets_its_own_channel_with_topic_people_and_the_live_summary(
    slack, fake_slack, database
):
    log(slack, fake_slack)
    major = _major(database)
    assert major.channel_name == "inc-1-payments-api-returns-500"
    channel = fake_slack.channel(major.channel_id)
    assert channel["topic"] == "Major incident INC-1 (P1): Payments API returns 500"
    # The reporter, the platform team's on-call group (expanded) and its lead are invited.
    assert set(channel["members"]) == {REPORTER, "U0ONCALL1", "U0LEAD"}
    summary = _summary(fake_slack, database)
    text = json.dumps(summary["blocks"])
    assert "Major incident INC-1" in text and "logged at P1" in text
    # The live message is mirrored, with the role pickers and Post update.
    assert "incident_acknowledge" in text and "incident_major_commander" in text
    assert "incident_major_post_update" in text
    # The incidents channel's message links to the channel; the thread says it was declared.
    assert f"<#{major.channel_id}>" in json.dumps(message(fake_slack, database)["blocks"])
    assert any("declared INC-1 a major incident" in t for t in posts(fake_slack, INCIDENTS))
    assert [e.actor for e in _audit(database, "declared_major")] == ["servicedesk"]


def test_a_p3_is_not_major_and_slack_hears_nothing_about_channels(slack, fake_slack, database):
    log(slack, fake_slack, impact="medium", urgency="medium")
    assert not fake_slack.calls("conversations.create")
    with database.session() as session:
        assert session.exec(select(MajorIncident)).all() == []
    assert incident(database).is_major is False


def test_a_name_clash_takes_the_next_name(slack, fake_slack, database):
    fake_slack.add_channel("inc-1-payments-api-returns-500")
    fake_slack.add_channel("inc-1-payments-api-returns-500-2")
    log(slack, fake_slack)
    assert _major(database).channel_name == "inc-1-payments-api-returns-500-3"
    assert len(fake_slack.calls("conversations.create")) == 3


def test_when_slack_refuses_the_channel_the_incident_carries_on_in_the_shared_channel(
    slack, fake_slack, database
):
    fake_slack.fail_next(
        "conversations.create", status=200, body={"ok": False, "error": "missing_scope"}
    )
    log(slack, fake_slack)
    major = _major(database)
    assert major.channel_id is None and major.channel_error == "missing_scope"
    found = incident(database)
    thread = [
        c.args
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("thread_ts") == found.message_ts
    ]
    assert any("would not create a channel" in str(a.get("text")) for a in thread)
    # The summary (role pickers, Post update) is in the thread instead, and the incident works.
    assert any("incident_major_post_update" in json.dumps(a.get("blocks")) for a in thread)
    assert "carries on here" in json.dumps(message(fake_slack, database)["blocks"])
    _acknowledge(slack, fake_slack, database)
    assert incident(database).status == "in_progress"
    assert _major(database).commander == AGENT


def test_declare_by_button_needs_a_reason_and_counts_twice_once(slack, fake_slack, database):
    log(slack, fake_slack, impact="medium", urgency="medium")
    shown = json.dumps(message(fake_slack, database)["blocks"])
    assert "major|INC-1" in shown  # More → Declare major incident…
    more = {"selected_option": "major|INC-1"}
    slack.click(
        message(fake_slack, database),
        "incident_more",
        user_id=STRANGER,
        channel_id=INCIDENTS,
        **more,
    )
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(
        message(fake_slack, database), "incident_more", user_id=AGENT, channel_id=INCIDENTS, **more
    )
    view = latest_view(fake_slack)
    assert view["callback_id"] == "incident_declare_view"
    empty = slack.submit(view, {"reason": "   "}, user_id=AGENT)
    assert empty.body["errors"] == {"reason": "Say why this is a major incident."}
    huge = slack.submit(view, {"reason": "x" * 100_000}, user_id=AGENT)
    assert "under 500 characters" in huge.body["errors"]["reason"]
    assert slack.submit(view, {"reason": "Checkout <!channel> down"}, user_id=AGENT).status == 200
    assert slack.submit(view, {"reason": "again"}, user_id=AGENT).status == 200
    assert len(fake_slack.calls("conversations.create")) == 1
    assert [e.note for e in _audit(database, "declared_major")] == ["Checkout <!channel> down"]
    assert "Checkout &lt;!channel&gt; down" in json.dumps(_summary(fake_slack, database)["blocks"])
    assert "major|INC-1" not in json.dumps(message(fake_slack, database)["blocks"])


def test_roles_default_to_the_acknowledger_and_are_set_by_picker_audited_and_announced(
    slack, fake_slack, database
):
    log(slack, fake_slack)
    _acknowledge(slack, fake_slack, database)
    assert _major(database).commander == AGENT
    summary = _summary(fake_slack, database)
    slack.click(
        summary,
        "incident_major_comms_lead",
        user_id=STRANGER,
        channel_id="C0X",
        selected_user=AGENT2,
    )
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(
        summary, "incident_major_comms_lead", user_id=AGENT, channel_id="C0X", selected_user=AGENT2
    )
    slack.click(
        summary, "incident_major_comms_lead", user_id=AGENT, channel_id="C0X", selected_user=AGENT2
    )
    major = _major(database)
    assert major.comms_lead == AGENT2
    roles = [(e.field, e.to_value, e.actor) for e in _audit(database, "role")]
    assert roles == [("commander", AGENT, AGENT), ("comms_lead", AGENT2, AGENT)]
    announced = [t for t in posts(fake_slack, major.channel_id) if "Communications lead" in t]
    assert announced == [f"<@{AGENT2}> is now the Communications lead (set by <@{AGENT}>)."]
    assert f'"initial_user": "{AGENT2}"' in json.dumps(_summary(fake_slack, database)["blocks"])


def _post_update(slack, fake_slack, database, user=AGENT, **answers):  # type: ignore[no-untyped-def]
    slack.click(
        _summary(fake_slack, database), "incident_major_post_update", user_id=user, channel_id="C0X"
    )
    view = latest_view(fake_slack)
    assert view["callback_id"] == "incident_update_view"
    return slack.submit(view, answers, user_id=user)


def test_a_status_update_goes_to_the_channel_stakeholders_and_customer_contacts(
    slack, fake_slack, database, clock
):
    log(slack, fake_slack)
    _acknowledge(slack, fake_slack, database)
    clock.advance(minutes=20)
    missing = _post_update(slack, fake_slack, database, update_status="Mitigating")
    assert missing.body["errors"] == {"update_status": "Say what the impact is."}
    done = _post_update(
        slack,
        fake_slack,
        database,
        update_status="Failing over <!here>",
        update_impact="Checkout down for 40%",
        update_next="Fail back at 12:00",
    )
    assert done.status == 200
    major = _major(database)
    for where in (major.channel_id, "C0STAKE", "U0ACMECONTACT", "U0GLOBEX"):
        sent = [t for t in posts(fake_slack, where) if "Status update on INC-1" in t]
        assert len(sent) == 1, where
        assert "Failing over &lt;!here&gt;" in sent[0] and "Checkout down for 40%" in sent[0]
    assert major.next_update_due == clock.now() + timedelta(minutes=30)


def test_updates_are_reminded_and_a_missed_one_goes_to_the_team_lead(
    slack, fake_slack, database, clock, ctx
):
    log(slack, fake_slack)
    _acknowledge(slack, fake_slack, database)
    # Due 30 minutes after the declaration: the commander is reminded, nobody else yet.
    clock.advance(minutes=30)
    ctx.notifier.send_due()
    assert any("needs a status update" in t for t in posts(fake_slack, f"D{AGENT}"))
    assert not any("was not posted" in t for t in posts(fake_slack, "DU0LEAD"))
    clock.advance(minutes=10)
    ctx.notifier.send_due()
    assert len([t for t in posts(fake_slack, "DU0LEAD") if "was not posted" in t]) == 1
    # An update moves the cadence on: the old reminders are cancelled, new ones pending.
    _post_update(slack, fake_slack, database, update_status="Fixed", update_impact="None")
    with database.session() as session:
        pending = session.exec(
            select(Notification.stage, Notification.recipient).where(
                Notification.record_key == "INC-1",
                Notification.kind == "reminder",
                Notification.status == "pending",
            )
        ).all()
    due = clock.now() + timedelta(minutes=30)
    assert {stage.split("@")[0] for stage, _ in pending} == {
        "update",
        "update-again",
        "missed-update",
    }
    assert all(
        stage.endswith(f"{due:%Y%m%dT%H%M%SZ}")
        for stage, who in pending
        if who == AGENT and stage.startswith("update@")
    )


def test_only_the_commander_comms_lead_or_agents_post_updates(slack, fake_slack, database):
    log(slack, fake_slack)
    slack.click(
        _summary(fake_slack, database),
        "incident_major_post_update",
        user_id=STRANGER,
        channel_id="C0X",
    )
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]
    # A forged submission of the form meets the same check.
    _acknowledge(slack, fake_slack, database)
    slack.click(
        _summary(fake_slack, database),
        "incident_major_post_update",
        user_id=AGENT,
        channel_id="C0X",
    )
    forged = slack.submit(
        latest_view(fake_slack), {"update_status": "x", "update_impact": "y"}, user_id=STRANGER
    )
    assert "Refused, because" in forged.body["errors"]["update_status"]


def test_timeline_keeps_steps_roles_updates_and_marked_messages_in_order(
    slack, fake_slack, database, clock
):
    log(slack, fake_slack)
    clock.advance(minutes=2)
    _acknowledge(slack, fake_slack, database)
    clock.advance(minutes=3)
    _post_update(slack, fake_slack, database, update_status="Rolling back", update_impact="All")
    channel = _major(database).channel_id
    said = {
        "type": "message",
        "ts": "1700000099.000100",
        "user": "U0ONCALL1",
        "text": "Root cause: expired cert <!channel>",
    }
    clock.advance(minutes=1)
    first = slack.shortcut(
        "incident_add_to_timeline", said, channel_id=channel, user_id="U0ONCALL1"
    )
    assert first.status == 200
    slack.shortcut("incident_add_to_timeline", said, channel_id=channel, user_id="U0ONCALL1")
    answers = [c.args["text"] for c in fake_slack.calls("response_url")[-2:]]
    assert answers == ["Added to INC-1's timeline.", "That message is already on INC-1's timeline."]
    slack.shortcut("incident_add_to_timeline", said, channel_id=channel, user_id=STRANGER)
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]
    slack.shortcut("incident_add_to_timeline", said, channel_id="C0RANDOM", user_id=AGENT)
    assert "major incident's own channel" in fake_slack.calls("response_url")[-1].args["text"]

    slack.command("/incident", "timeline inc-1", user_id=AGENT, channel_id="C0WORK")
    shown = json.dumps(fake_slack.calls("response_url")[-1].args["blocks"])
    order = [
        "created",
        "declared major",
        "acknowledge",
        "Incident commander",
        "status update: Rolling back",
        "marked a message by",
    ]
    positions = [shown.index(word) for word in order]
    assert positions == sorted(positions)
    assert "expired cert &lt;!channel&gt;" in shown
    slack.command("/incident", "timeline INC-99", user_id=AGENT, channel_id="C0WORK")
    assert fake_slack.calls("response_url")[-1].args["text"] == "There is no incident INC-99."
    slack.command("/incident", "timeline", user_id=AGENT, channel_id="C0WORK")
    assert (
        "For example `/incident timeline INC-42`"
        in fake_slack.calls("response_url")[-1].args["text"]
    )


def test_one_refused_invitation_does_not_stop_the_others_and_the_summary_follows(
    slack, fake_slack, database
):
    fake_slack.fail_next(
        "conversations.invite", status=200, body={"ok": False, "error": "user_is_restricted"}
    )
    log(slack, fake_slack)
    channel = fake_slack.channel(_major(database).channel_id)
    assert set(channel["members"]) == {REPORTER, "U0ONCALL1", "U0LEAD"}
    assert "New" in json.dumps(_summary(fake_slack, database)["blocks"])
    # The mirrored live message follows the incident, and its buttons work from there.
    slack.click(
        _summary(fake_slack, database), "incident_acknowledge", user_id=AGENT, channel_id="C0X"
    )
    mirrored = json.dumps(_summary(fake_slack, database)["blocks"])
    assert "In progress" in mirrored and f"<@{AGENT}>" in mirrored
    assert "incident_acknowledge" not in mirrored


def test_a_slack_that_is_down_for_the_channel_leaves_the_incident_in_the_shared_channel(
    slack, fake_slack, database
):
    fake_slack.fail_next("conversations.create", status=503, count=20)
    log(slack, fake_slack)
    major = _major(database)
    assert major.channel_id is None and major.channel_error
    assert "carries on here" in json.dumps(message(fake_slack, database)["blocks"])


def test_an_ordinary_incident_never_reads_the_major_incident_tables(slack, fake_slack, database):
    from sqlalchemy import event

    seen: list[str] = []

    def remember(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", remember)
    try:
        log(slack, fake_slack, impact="medium", urgency="medium")
        _acknowledge(slack, fake_slack, database)
    finally:
        event.remove(database.engine, "before_cursor_execute", remember)
    assert seen and not [s for s in seen if "major_incident" in s or "timeline_entry" in s]
