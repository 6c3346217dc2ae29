"""Nonconformities through the real App: an agent records one from an audit finding and names
its owner; the owner plans the correction and corrective action with a due date (reminded
once through the outbox) and says when it is done; whoever raised it sends it back or closes it
with the evidence. Double clicks count once; strangers and forged forms are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import select

from models.audit import AuditEntry
from models.improvement import Nonconformity
from tests.handlers.test_incident_flow import latest_view
from tests.sms.conftest import sms_message, thread_of

AUDITOR = "U0AGENT1"  # an agent
OWNER = "U0NCOWNER"
PLAN = {"correction": "Minutes written up", "corrective_action": "CAB template <v2>"}


def _raise(slack, fake_slack) -> None:  # type: ignore[no-untyped-def]
    slack.command("/nc", "aud-3", user_id=AUDITOR, channel_id="C0WORK")
    view = latest_view(fake_slack)
    assert view["callback_id"] == "nc_new"
    assert "AUD-3" in str(view["blocks"])  # where it was found, filled in
    no_owner = slack.submit(view, {"title": "No CAB minutes"}, user_id=AUDITOR)
    assert "Choose the person" in no_owner.body["errors"]["owner"]
    done = slack.submit(
        view,
        {"title": "No <!here> CAB minutes", "owner": OWNER, "source": "Management review"},
        user_id=AUDITOR,
    )
    assert done.status == 200 and not done.body


def test_the_corrective_action_is_planned_reminded_checked_and_closed(
    slack, ctx, fake_slack, database, clock
):
    _raise(slack, fake_slack)
    message = sms_message(fake_slack, "NC-1")
    shown = str(message["blocks"])
    assert "No &lt;!here&gt; CAB minutes" in shown and "Management review" in shown
    assert "nc_plan" in shown and "nc_close" not in shown

    slack.click(message, "nc_plan", user_id=AUDITOR, channel_id="C0SMS")
    assert "Refused, because only NC-1's owner (<@U0NCOWNER>)" in str(
        fake_slack.calls("response_url")[-1].args
    )
    slack.click(message, "nc_plan", user_id=OWNER, channel_id="C0SMS")
    view = latest_view(fake_slack)
    bad_date = slack.submit(view, {**PLAN, "due_on": "2026-13-45"}, user_id=OWNER)
    assert "is not a date" in bad_date.body["errors"]["due_on"]
    forged = slack.submit(view, {**PLAN, "due_on": date(2026, 12, 20)}, user_id="U0STRANGER")
    assert "Refused, because" in str(forged.body["errors"])
    ok = slack.submit(view, {**PLAN, "due_on": date(2026, 12, 20)}, user_id=OWNER)
    assert ok.status == 200 and not ok.body
    message = sms_message(fake_slack, "NC-1")
    assert "CAB template &lt;v2&gt;" in str(message["blocks"])
    assert "Change the plan" in str(message["blocks"])

    # The day before it is due: the owner is reminded once, however many sweeps run.
    clock.set(datetime(2026, 12, 19, 9, 0, tzinfo=UTC))
    for _ in range(3):
        ctx.notifier.send_due()
    dms = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == f"D{OWNER}"]
    assert [c.args["text"] for c in dms] == [
        ":hourglass_flowing_sand: The corrective action of NC-1 (No &lt;!here&gt; CAB minutes) "
        "is due tomorrow (Sun 20 Dec 2026)."
    ]

    for _ in range(2):  # a double click counts once
        slack.click(message, "nc_action_done", user_id=OWNER, channel_id="C0SMS")
    with database.session() as session:
        moves = session.exec(
            select(AuditEntry).where(
                AuditEntry.record_key == "NC-1", AuditEntry.action == "action_done"
            )
        ).all()
    assert len(moves) == 1
    assert "cannot be marked as done now" in str(fake_slack.calls("response_url")[-1].args)

    message = sms_message(fake_slack, "NC-1")
    slack.click(message, "nc_close", user_id=OWNER, channel_id="C0SMS")
    assert "Refused, because only whoever raised NC-1 (<@U0AGENT1>)" in str(
        fake_slack.calls("response_url")[-1].args
    )
    slack.click(message, "nc_not_effective", user_id=AUDITOR, channel_id="C0SMS")
    slack.submit(latest_view(fake_slack), {"note": "Minutes still missing"}, user_id=AUDITOR)
    with database.session() as session:
        assert session.exec(select(Nonconformity)).one().status == "action_planned"
    message = sms_message(fake_slack, "NC-1")
    slack.click(message, "nc_plan", user_id=OWNER, channel_id="C0SMS")
    slack.submit(latest_view(fake_slack), {**PLAN, "due_on": date(2027, 1, 10)}, user_id=OWNER)
    slack.click(
        sms_message(fake_slack, "NC-1"), "nc_action_done", user_id=OWNER, channel_id="C0SMS"
    )
    slack.click(sms_message(fake_slack, "NC-1"), "nc_close", user_id=AUDITOR, channel_id="C0SMS")
    view = latest_view(fake_slack)
    empty = slack.submit(view, {"note": ""}, user_id=AUDITOR)
    assert "Give the evidence" in empty.body["errors"]["note"]
    slack.submit(view, {"note": "Three CABs minuted"}, user_id=AUDITOR)
    with database.session() as session:
        record = session.exec(select(Nonconformity)).one()
    assert (record.status, record.effectiveness, record.due_on) == (
        "closed",
        "Three CABs minuted",
        date(2027, 1, 10),
    )
    message = sms_message(fake_slack, "NC-1")
    assert "actions" not in [b["type"] for b in message["blocks"]]
    thread = " ".join(thread_of(fake_slack, message))
    assert "did not work" in thread and "closed NC-1: Three CABs minuted" in thread


def test_only_agents_record_nonconformities_and_the_list_shows_open_ones(
    slack, fake_slack, database
):
    opened = len(fake_slack.calls("views.open"))
    slack.command("/nc", "", user_id="U0STRANGER", channel_id="C0WORK")
    assert fake_slack.calls("response_url")[-1].args["text"] == (
        "Refused, because only service desk agents can record nonconformities. Ask an agent, "
        "or an admin to add you."
    )
    assert len(fake_slack.calls("views.open")) == opened
    _raise(slack, fake_slack)
    slack.command("/nc", "list", user_id="U0STRANGER")
    listed = str(fake_slack.calls("response_url")[-1].args)
    assert "*NC-1* No &lt;!here&gt; CAB minutes — Open, <@U0NCOWNER>" in listed
    slack.command("/nc", "show NC-1", user_id="U0STRANGER")
    assert "created" in str(fake_slack.calls("response_url")[-1].args)
    slack.command("/nc", "show NC-99999999999999", user_id="U0STRANGER")
    assert "There is no nonconformity" in str(fake_slack.calls("response_url")[-1].args)
