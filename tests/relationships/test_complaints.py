"""`/feedback` through the real Bolt App: a complaint becomes CMP-n with an owner, a response
target, reminders before it, the lifecycle New → Investigating → Responded → Closed, and the
complainant told at each step; a compliment is recorded and passed to the team lead."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.notification import Notification
from models.relationship import Complaint, Compliment
from tests.relationships.conftest import OWNER

COMPLAINANT = "U0UNHAPPY"


def open_feedback(slack, fake_slack, user: str = COMPLAINANT) -> dict:  # type: ignore[no-untyped-def]
    slack.command("/feedback", "", user_id=user, channel_id="C0WORK")
    return fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])


def complaint_message(fake_slack) -> dict:  # type: ignore[no-untyped-def]
    found = [
        m
        for m in fake_slack.messages("C0INCIDENTS")
        if "complaint_actions" in str(m.get("blocks")) or "CMP-" in str(m.get("text"))
    ]
    top = [m for m in found if not m.get("thread_ts")]
    assert len(top) == 1
    return top[0]


def told(database, user: str) -> list[str]:  # type: ignore[no-untyped-def]
    with database.session() as s:
        rows = s.exec(
            select(Notification)
            .where(Notification.recipient == user, Notification.kind == "complaint")
            .order_by(Notification.id)
        ).all()
    return [row.text for row in rows]


def test_a_complaint_runs_its_lifecycle_and_the_complainant_is_told(
    ctx, slack, fake_slack, database, clock
):
    view = open_feedback(slack, fake_slack)
    missing = slack.submit(
        view, {"feedback_kind": "complaint", "summary": "  "}, user_id=COMPLAINANT
    )
    assert missing.body["response_action"] == "errors"
    answers = {
        "feedback_kind": "complaint",
        "service": "payments",
        "summary": "<!channel> Refund took a month",
        "description": "Nobody answered my emails",
    }
    assert slack.submit(view, answers, user_id=COMPLAINANT).status == 200
    slack.submit(view, answers, user_id=COMPLAINANT)  # delivered twice: one complaint
    with database.session() as s:
        complaint = s.exec(select(Complaint)).one()
        assert complaint.key == "CMP-1" and complaint.owner == OWNER  # Retail's owner
        assert complaint.customer == "Retail"
        assert complaint.response_due_at == clock.now() + timedelta(days=2)
        reminders = s.exec(
            select(Notification).where(
                Notification.record_key == "CMP-1", Notification.kind == "reminder"
            )
        ).all()
        assert [(r.recipient, r.due_at) for r in reminders] == [
            (OWNER, clock.now() + timedelta(days=1))
        ]
    message = complaint_message(fake_slack)
    assert "&lt;!channel&gt; Refund" in str(message["blocks"])
    assert "<!channel>" not in str(message["blocks"])
    assert "recorded" in told(database, COMPLAINANT)[0]

    # A stranger may not work it; the owner may.
    slack.click(message, "complaint_investigate", user_id="U0STRANGER", channel_id="C0INCIDENTS")
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(message, "complaint_investigate", user_id=OWNER, channel_id="C0INCIDENTS")
    slack.click(message, "complaint_investigate", user_id=OWNER, channel_id="C0INCIDENTS")
    assert "cannot be investigated now" in fake_slack.calls("response_url")[-1].args["text"]
    message = complaint_message(fake_slack)
    assert "Investigating" in str(message["blocks"])

    slack.click(message, "complaint_respond", user_id=OWNER, channel_id="C0INCIDENTS")
    form = fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])
    empty = slack.submit(form, {"response": " "}, user_id=OWNER)
    assert empty.body["response_action"] == "errors"
    forged = slack.submit(form, {"response": "Sorry"}, user_id="U0STRANGER")
    assert "Refused, because" in str(forged.body)
    slack.submit(form, {"response": "We refunded you & added a check"}, user_id=OWNER)
    with database.session() as s:
        complaint = s.exec(select(Complaint)).one()
        assert complaint.status == "responded" and complaint.responded_at == clock.now()
        pending = s.exec(
            select(Notification).where(
                Notification.record_key == "CMP-1",
                Notification.kind == "reminder",
                Notification.status == "pending",
            )
        ).all()
        assert pending == []  # responded: no more reminders
    message = complaint_message(fake_slack)
    slack.click(message, "complaint_close", user_id=OWNER, channel_id="C0INCIDENTS")
    texts = told(database, COMPLAINANT)
    assert len(texts) == 4
    assert "investigated" in texts[1] and "refunded you &amp; added" in texts[2]
    assert "closed" in texts[3]
    for _ in range(5):  # the notifier paces a channel's posts: let the clock move on
        ctx.notifier.send_due()
        clock.advance(seconds=2)
    assert len(fake_slack.messages(f"D{COMPLAINANT}")) == 4
    message = complaint_message(fake_slack)
    assert "complaint_" not in str(message["blocks"][-1])  # closed: no buttons

    slack.command("/feedback", "list", user_id=OWNER)
    assert "none" in str(fake_slack.calls("response_url")[-1].args)
    slack.command("/feedback", "show CMP-1", user_id=OWNER)
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "Audit trail" in shown and "respond" in shown
    # A closed complaint's show keeps every section of its message, its response the last.
    assert "*Response*" in shown and "refunded you &amp; added a check" in shown
    assert "'actions'" not in shown


def test_a_compliment_is_recorded_and_passed_to_the_team_lead(ctx, slack, fake_slack, database):
    view = open_feedback(slack, fake_slack)
    answers = {"feedback_kind": "compliment", "service": "vpn", "summary": "Fixed in minutes <3"}
    assert slack.submit(view, answers, user_id=COMPLAINANT).status == 200
    slack.submit(view, answers, user_id=COMPLAINANT)
    ctx.notifier.send_due()
    with database.session() as s:
        stored = s.exec(select(Compliment)).one()
        assert stored.team == "network" and stored.text == "Fixed in minutes <3"
    passed = fake_slack.messages("DU0NETLEAD")
    assert len(passed) == 1 and "Fixed in minutes &lt;3" in passed[0]["text"]
    assert any("passed to the team" in m["text"] for m in fake_slack.messages(f"D{COMPLAINANT}"))


def test_a_reminder_goes_to_the_owner_when_the_target_nears(
    ctx, slack, fake_slack, database, clock
):
    view = open_feedback(slack, fake_slack)
    slack.submit(view, {"feedback_kind": "complaint", "summary": "Slow"}, user_id=COMPLAINANT)
    with database.session() as s:
        complaint = s.exec(select(Complaint)).one()
        assert complaint.owner is None  # no service: no owner, so agents work it
    view = open_feedback(slack, fake_slack)
    slack.submit(
        view,
        {"feedback_kind": "complaint", "service": "vpn", "summary": "VPN rude"},
        user_id=COMPLAINANT,
    )
    clock.advance(timedelta(days=1, minutes=1))
    ctx.notifier.send_due()
    reminded = [m for m in fake_slack.messages("DU0NETLEAD") if "CMP-2" in m["text"]]
    assert len(reminded) == 1 and "due a response" in reminded[0]["text"]
