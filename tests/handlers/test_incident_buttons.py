"""The incident message's other buttons, driven through signed Slack requests and the real Bolt
App: Put on hold and Resume (the SLA pause and the shifted deadline), Assign, Change priority,
Cancel, Reopen; each with its audit row, its thread step and its inline errors."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.audit import AuditEntry
from models.incident import SlaPause
from services import incident_sla, incidents
from tests.handlers.test_incident_flow import _has, channel_message, latest_view, log_incident

AGENT = "U0AGENT1"
CHANNEL = "C0INCIDENTS"


def _acknowledged(slack, fake_slack, database, clock, **fields):  # type: ignore[no-untyped-def]
    log_incident(slack, fake_slack, **fields)
    clock.advance(minutes=5)
    slack.click(
        channel_message(fake_slack, database),
        "incident_acknowledge",
        user_id=AGENT,
        channel_id=CHANNEL,
    )
    with database.session() as session:
        assert incidents.get(session, key="INC-1").status == "in_progress"
    return channel_message(fake_slack, database)


def _sla(database, policy, clock):  # type: ignore[no-untyped-def]
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        return incident_sla.evaluate(session, incident=incident, policy=policy, now=clock.now())


def _audit(database, action=None):  # type: ignore[no-untyped-def]
    with database.session() as session:
        statement = select(AuditEntry).where(AuditEntry.record_key == "INC-1")
        if action is not None:
            statement = statement.where(AuditEntry.action == action)
        return [
            (e.action, e.actor, e.field, e.from_value, e.to_value, e.note)
            for e in session.exec(statement.order_by(AuditEntry.id))
        ]


def _thread_texts(fake_slack):  # type: ignore[no-untyped-def]
    return [c.args["text"] for c in fake_slack.calls("chat.postMessage") if c.args.get("thread_ts")]


def _more(slack, message, choice, user=AGENT):  # type: ignore[no-untyped-def]
    return slack.click(
        message,
        "incident_more",
        selected_option=f"{choice}|INC-1",
        user_id=user,
        channel_id=CHANNEL,
    )


def test_hold_pauses_the_sla_and_resume_shifts_the_deadline_by_the_pause(
    slack, fake_slack, database, clock, policy
):
    message = _acknowledged(slack, fake_slack, database, clock)
    before = _sla(database, policy, clock).resolution
    assert before.due_at is not None and not before.paused

    slack.click(message, "incident_hold", user_id=AGENT, channel_id=CHANNEL)
    view = latest_view(fake_slack)
    assert view["callback_id"] == "incident_hold_view"
    # No reason chosen: the form says so next to the field, and nothing changes.
    refused = slack.submit(view, {"note": "Waiting"}, user_id=AGENT)
    assert refused.body["response_action"] == "errors"
    assert refused.body["errors"] == {"hold_reason": "Choose what the incident is waiting for."}
    with database.session() as session:
        assert incidents.get(session, key="INC-1").status == "in_progress"
    done = slack.submit(view, {"hold_reason": "customer", "note": "Asked for logs"}, user_id=AGENT)
    assert done.status == 200 and not done.body
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert (incident.status, incident.hold_reason) == ("on_hold", "customer")
        pauses = session.exec(select(SlaPause).where(SlaPause.record_key == "INC-1")).all()
        assert [(p.started_at, p.ended_at, p.reason) for p in pauses] == [
            (clock.now(), None, "customer")
        ]
    assert _audit(database, "hold")[-1][:2] == ("hold", AGENT)
    assert "Awaiting customer. Asked for logs" in (_audit(database, "hold")[-1][5] or "")
    assert any(
        "on hold (awaiting customer); the SLA clock is paused" in t
        for t in _thread_texts(fake_slack)
    )
    message = channel_message(fake_slack, database)
    assert _has(message, "incident_resume") and not _has(message, "incident_hold")

    # An hour on hold does not count: the resolution deadline moves by that hour.
    clock.advance(hours=1)
    paused = _sla(database, policy, clock).resolution
    assert paused.paused and paused.elapsed == before.elapsed
    slack.click(message, "incident_resume", user_id=AGENT, channel_id=CHANNEL)
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert (incident.status, incident.hold_reason) == ("in_progress", None)
        pause = session.exec(select(SlaPause).where(SlaPause.record_key == "INC-1")).one()
        assert pause.ended_at == clock.now()
    after = _sla(database, policy, clock).resolution
    assert not after.paused
    assert after.due_at == before.due_at + timedelta(hours=1)
    assert [a[:2] for a in _audit(database, "resume")] == [("resume", AGENT)]
    assert any("resumed INC-1; the SLA clock runs again" in t for t in _thread_texts(fake_slack))
    message = channel_message(fake_slack, database)
    assert _has(message, "incident_hold") and not _has(message, "incident_resume")


def test_resume_from_a_stale_message_is_refused_in_plain_words(slack, fake_slack, database, clock):
    message = _acknowledged(slack, fake_slack, database, clock)
    slack.click(message, "incident_hold", user_id=AGENT, channel_id=CHANNEL)
    slack.submit(latest_view(fake_slack), {"hold_reason": "supplier"}, user_id=AGENT)
    on_hold = channel_message(fake_slack, database)
    slack.click(on_hold, "incident_resume", user_id=AGENT, channel_id=CHANNEL)
    # The same Resume button clicked again (someone else's stale copy of the message).
    slack.click(on_hold, "incident_resume", user_id="U0AGENT2", channel_id=CHANNEL)
    refusal = fake_slack.calls("response_url")[-1].args
    assert refusal["text"] == (
        "INC-1 is In progress, so it cannot be resumed now; that is only possible when it is On hold."
    )
    assert refusal["replace_original"] is False
    assert len(_audit(database, "resume")) == 1


def test_a_stranger_cannot_resume_and_nothing_changes(slack, fake_slack, database, clock):
    message = _acknowledged(slack, fake_slack, database, clock)
    slack.click(message, "incident_hold", user_id=AGENT, channel_id=CHANNEL)
    slack.submit(latest_view(fake_slack), {"hold_reason": "change"}, user_id=AGENT)
    slack.click(
        channel_message(fake_slack, database),
        "incident_resume",
        user_id="U0STRANGER",
        channel_id=CHANNEL,
    )
    assert "agent" in fake_slack.calls("response_url")[-1].args["text"]
    with database.session() as session:
        assert incidents.get(session, key="INC-1").status == "on_hold"
    assert _audit(database, "resume") == []


def test_assign_records_who_had_it_and_tells_the_new_assignee(slack, fake_slack, database, clock):
    message = _acknowledged(slack, fake_slack, database, clock)
    slack.click(
        message, "incident_assign", selected_user="U0AGENT2", user_id=AGENT, channel_id=CHANNEL
    )
    with database.session() as session:
        assert incidents.get(session, key="INC-1").assignee == "U0AGENT2"
    assert _audit(database, "assigned")[-1] == (
        "assigned",
        AGENT,
        "assignee",
        AGENT,
        "U0AGENT2",
        None,
    )
    dms = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "U0AGENT2"]
    assert len(dms) == 1 and "assigned *INC-1* to you" in dms[0].args["text"]
    assert any("assigned INC-1 to <@U0AGENT2>" in t for t in _thread_texts(fake_slack))
    # Choosing the same person again records nothing and messages nobody.
    slack.click(
        channel_message(fake_slack, database),
        "incident_assign",
        selected_user="U0AGENT2",
        user_id=AGENT,
        channel_id=CHANNEL,
    )
    assert len(_audit(database, "assigned")) == 2  # the acknowledger, then U0AGENT2
    assert (
        len([c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "U0AGENT2"])
        == 1
    )


def test_assigning_yourself_sends_no_direct_message(slack, fake_slack, database, clock):
    message = _acknowledged(slack, fake_slack, database, clock)
    slack.click(
        message, "incident_assign", selected_user="U0AGENT2", user_id="U0AGENT2", channel_id=CHANNEL
    )
    with database.session() as session:
        assert incidents.get(session, key="INC-1").assignee == "U0AGENT2"
    assert not [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "U0AGENT2"]


def test_change_priority_checks_the_form_then_moves_the_deadline_from_the_start(
    slack, fake_slack, database, clock, policy
):
    message = _acknowledged(slack, fake_slack, database, clock)
    with database.session() as session:
        created = incidents.get(session, key="INC-1").created_at
    assert _sla(database, policy, clock).resolution.due_at == created + timedelta(hours=4)
    _more(slack, message, "priority")
    view = latest_view(fake_slack)
    assert view["callback_id"] == "incident_priority_view"
    # A forged submission with a priority the menu does not offer meets the same check.
    forged = {
        "priority": {"priority": {"type": "static_select", "selected_option": {"value": "7"}}},
        "note": {"note": {"type": "plain_text_input", "value": "Only one shop"}},
    }
    bad = slack.submit(view, values=forged, user_id=AGENT)
    assert bad.body["response_action"] == "errors"
    assert bad.body["errors"] == {"note": "'7' is not a priority; use P1 to P5."}
    same = slack.submit(view, {"priority": "1", "note": "Only one shop"}, user_id=AGENT)
    assert same.body["errors"] == {"note": "INC-1 is already P1 critical."}
    no_reason = slack.submit(view, {"priority": "2", "note": "  "}, user_id=AGENT)
    assert "Say why the priority changes" in no_reason.body["errors"]["note"]
    with database.session() as session:
        assert incidents.get(session, key="INC-1").priority == 1
    done = slack.submit(view, {"priority": "2", "note": "Only one shop"}, user_id=AGENT)
    assert done.status == 200 and not done.body
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert (incident.priority, incident.priority_overridden) == (2, True)
    assert _audit(database, "priority changed") == [
        ("priority changed", AGENT, "priority", "P1", "P2", "Only one shop")
    ]
    # P2's resolution target (8 h), counted from when the incident was logged.
    assert _sla(database, policy, clock).resolution.due_at == created + timedelta(hours=8)
    assert any(
        "changed the priority of INC-1 to P2 high.\n> Only one shop" in t
        for t in _thread_texts(fake_slack)
    )
    assert "P2 high" in str(channel_message(fake_slack, database)["blocks"])


def test_cancel_needs_a_reason_then_stops_the_clock_and_the_buttons(
    slack, fake_slack, database, clock, policy
):
    message = _acknowledged(slack, fake_slack, database, clock)
    _more(slack, message, "cancel")
    view = latest_view(fake_slack)
    assert view["callback_id"] == "incident_cancel_view"
    refused = slack.submit(view, {"note": " "}, user_id=AGENT)
    assert refused.body == {
        "response_action": "errors",
        "errors": {"note": "Say why the incident is cancelled."},
    }
    clock.advance(minutes=10)
    done = slack.submit(view, {"note": "Logged twice"}, user_id=AGENT)
    assert done.status == 200 and not done.body
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert (incident.status, incident.closed_at) == ("cancelled", clock.now())
    assert _audit(database, "cancel")[-1][:2] == ("cancel", AGENT)
    assert _audit(database, "cancel")[-1][5] == "Logged twice"
    sla = _sla(database, policy, clock)
    assert sla.resolution.stopped and sla.next_deadline is None
    message = channel_message(fake_slack, database)
    assert not [b for b in message["blocks"] if b["type"] == "actions" and b["elements"]]
    assert any("cancelled INC-1.\n> Logged twice" in t for t in _thread_texts(fake_slack))


def test_cancelling_a_cancelled_incident_from_a_stale_form_is_refused(
    slack, fake_slack, database, clock
):
    message = _acknowledged(slack, fake_slack, database, clock)
    _more(slack, message, "cancel")
    view = latest_view(fake_slack)
    slack.submit(view, {"note": "Logged twice"}, user_id=AGENT)
    again = slack.submit(view, {"note": "Logged twice"}, user_id=AGENT)
    assert again.body["response_action"] == "errors"
    assert "INC-1 is Cancelled, so it cannot be cancelled now" in again.body["errors"]["note"]
    assert len(_audit(database, "cancel")) == 1


def test_reopen_runs_the_resolution_target_again(slack, fake_slack, database, clock, policy):
    message = _acknowledged(slack, fake_slack, database, clock)
    slack.click(message, "incident_resolve", user_id=AGENT, channel_id=CHANNEL)
    slack.submit(
        latest_view(fake_slack), {"resolution_code": "fixed", "note": "Restarted"}, user_id=AGENT
    )
    assert _sla(database, policy, clock).resolution.stopped
    clock.advance(minutes=30)
    resolved = channel_message(fake_slack, database)
    slack.click(resolved, "incident_reopen", user_id=AGENT, channel_id=CHANNEL)
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert incident.status == "in_progress"
        assert (incident.resolved_at, incident.resolution_code, incident.resolution_note) == (
            None,
            None,
            None,
        )
    resolution = _sla(database, policy, clock).resolution
    assert not resolution.stopped and resolution.met is None
    assert [a[:2] for a in _audit(database, "reopen")] == [("reopen", AGENT)]
    assert any(t.endswith("reopened INC-1.") for t in _thread_texts(fake_slack))
    message = channel_message(fake_slack, database)
    assert _has(message, "incident_resolve") and not _has(message, "incident_reopen")
    # The Reopen button of the resolved message, clicked again, is refused in plain words.
    slack.click(resolved, "incident_reopen", user_id="U0AGENT2", channel_id=CHANNEL)
    assert "cannot be reopened now" in fake_slack.calls("response_url")[-1].args["text"]
    assert len(_audit(database, "reopen")) == 1
