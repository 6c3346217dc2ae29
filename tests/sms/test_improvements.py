"""Improvements through the real App: anyone raises one with /improve; a member of the process
owner's group approves it with an owner and a due date (reminders planned); the owner records
it done (reminders withdrawn); strangers and bad values are answered, never raised."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from models.improvement import Improvement
from services import notifications
from tests.handlers.test_incident_flow import latest_view
from tests.sms.conftest import sms_message, thread_of

CAB_MEMBER = "U0CABMEMBER"
DOER = "U0DOER"


def _raise(slack, fake_slack, title: str = "Shorter <!channel> CAB") -> None:  # type: ignore[no-untyped-def]
    slack.command("/improve", "", user_id="U0ANYONE", channel_id="C0WORK")
    view = latest_view(fake_slack)
    assert view["callback_id"] == "improvement_new"
    no_process = slack.submit(view, {"title": title}, user_id="U0ANYONE")
    assert "Choose the process" in no_process.body["errors"]["process"]
    done = slack.submit(view, {"title": title, "process": "change"}, user_id="U0ANYONE")
    assert done.status == 200 and not done.body
    again = slack.submit(view, {"title": title, "process": "change"}, user_id="U0ANYONE")
    assert again.status == 200 and not again.body  # a repeated delivery: one record


def _reminders(database, key: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        rows = notifications.for_record(session, record_key=key, kind="reminder")
        return [(row.stage, row.status) for row in rows]


def test_raised_by_anyone_approved_by_the_process_owner_and_done(
    slack, fake_slack, database, clock
):
    fake_slack.set_usergroup("S0CAB", [CAB_MEMBER])
    _raise(slack, fake_slack)
    with database.session() as session:
        (record,) = session.exec(select(Improvement)).all()
    assert (record.key, record.status, record.evaluator) == ("IMP-1", "proposed", "S0CAB")
    message = sms_message(fake_slack, "IMP-1")
    shown = str(message["blocks"])
    assert "Shorter &lt;!channel&gt; CAB" in shown and "<!channel>" not in shown
    assert "Change management" in shown and "<!subteam^S0CAB>" in shown
    assert "improvement_approve" in shown and "improvement_done" not in shown

    # A stranger is refused before the form opens.
    opened = len(fake_slack.calls("views.open"))
    slack.click(message, "improvement_approve", user_id="U0AGENT1", channel_id="C0SMS")
    assert "Refused, because only the process owner (<!subteam^S0CAB>)" in str(
        fake_slack.calls("response_url")[-1].args
    )
    assert len(fake_slack.calls("views.open")) == opened

    slack.click(message, "improvement_approve", user_id=CAB_MEMBER, channel_id="C0SMS")
    view = latest_view(fake_slack)
    past = slack.submit(view, {"owner": DOER, "due_on": date(2026, 11, 1)}, user_id=CAB_MEMBER)
    assert "in the past" in past.body["errors"]["due_on"]
    nobody = slack.submit(view, {"due_on": date(2026, 12, 20)}, user_id=CAB_MEMBER)
    assert "Choose who" in nobody.body["errors"]["owner"]
    ok = slack.submit(view, {"owner": DOER, "due_on": date(2026, 12, 20)}, user_id=CAB_MEMBER)
    assert ok.status == 200 and not ok.body
    twice = slack.submit(view, {"owner": DOER, "due_on": date(2026, 12, 20)}, user_id=CAB_MEMBER)
    assert "cannot be approved now" in str(twice.body)
    assert _reminders(database, "IMP-1") == [
        ("due:-1d@20261219T090000Z", "pending"),
        ("due:0d@20261220T090000Z", "pending"),
        ("overdue:7d@20261227T090000Z", "pending"),
    ]
    message = sms_message(fake_slack, "IMP-1")
    assert "Approved" in str(message["blocks"]) and "improvement_done" in str(message["blocks"])
    assert any(
        "approved IMP-1: <@U0DOER> carries it out by Sun 20 Dec 2026" in t
        for t in thread_of(fake_slack, message)
    )

    slack.click(message, "improvement_done", user_id=CAB_MEMBER, channel_id="C0SMS")
    assert "Refused, because only IMP-1's owner (<@U0DOER>)" in str(
        fake_slack.calls("response_url")[-1].args
    )
    slack.click(message, "improvement_done", user_id=DOER, channel_id="C0SMS")
    view = latest_view(fake_slack)
    huge = slack.submit(view, {"note": "x" * 100_000}, user_id=DOER)
    assert "under 3000 characters" in huge.body["errors"]["note"]
    forged = slack.submit(view, {"note": "Done"}, user_id="U0STRANGER")
    assert "Refused, because" in forged.body["errors"]["note"]
    done = slack.submit(view, {"note": "CAB meets <weekly>"}, user_id=DOER)
    assert done.status == 200 and not done.body
    with database.session() as session:
        record = session.exec(select(Improvement)).one()
    assert (record.status, record.outcome, record.owner) == ("done", "CAB meets <weekly>", DOER)
    assert [s for _, s in _reminders(database, "IMP-1")] == ["cancelled"] * 3
    message = sms_message(fake_slack, "IMP-1")
    assert "CAB meets &lt;weekly&gt;" in str(message["blocks"])
    assert "actions" not in [b["type"] for b in message["blocks"]]


def test_reject_needs_a_reason_and_the_register_lists_open_ones(slack, fake_slack, database, clock):
    _raise(slack, fake_slack, title="Idea one")
    _raise(slack, fake_slack, title="Idea two")
    with database.session() as session:
        # Keys by title: on PostgreSQL the repeated delivery in _raise used up a sequence number.
        first, second = (
            session.exec(select(Improvement).where(Improvement.title == t)).one().key
            for t in ("Idea one", "Idea two")
        )
    message = sms_message(fake_slack, second)
    slack.click(message, "improvement_reject", user_id="U0ADMIN", channel_id="C0SMS")
    view = latest_view(fake_slack)
    empty = slack.submit(view, {"note": "  "}, user_id="U0ADMIN")
    assert "Give the reason" in empty.body["errors"]["note"]
    slack.submit(view, {"note": "Out of budget"}, user_id="U0ADMIN")
    slack.command("/improve", "list", user_id="U0ANYONE")
    listed = str(fake_slack.calls("response_url")[-1].args)
    assert first in listed and second not in listed
    slack.command("/improve", "list all", user_id="U0ANYONE")
    listed = str(fake_slack.calls("response_url")[-1].args)
    assert f"{second}* Idea two — Rejected" in listed
    slack.command("/improve", f"show {second}", user_id="U0ANYONE")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "Out of budget" in shown and "reject" in shown
