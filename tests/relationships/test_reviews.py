"""Service reviews with customers (and supplier reviews) through the real Bolt App: the owner
is reminded before each review with the customer's open records and a Record review button,
records it with attendees, outcome and actions; actions are reminded when due and listed
until done; the next review moves on by the cadence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from handlers.customers.render import F
from models.notification import Notification
from models.relationship import PartyKind, RelationshipReview, ReviewAction
from schedules.relationships import sweep_relationships
from services.relationship_reviews import party_key
from tests.relationships.conftest import OWNER, SUPPLIER_OWNER, resolved_incident

DM = f"D{OWNER}"


def review_reminders(database, key: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    with database.session() as s:
        return list(
            s.exec(
                select(Notification)
                .where(Notification.record_key == key, Notification.kind == "reminder")
                .order_by(Notification.due_at)
            )
        )


def test_a_customer_review_is_reminded_recorded_and_its_actions_followed(
    ctx, slack, fake_slack, database, clock, policy
):
    from tests.relationships.conftest import held_incident

    held_incident(database, clock, policy, service="payments")
    sweep_relationships(db=ctx.db, clock=ctx.clock, policy=policy)
    key = party_key(PartyKind.CUSTOMER, "Retail")
    rows = review_reminders(database, key)
    # 14 days ahead was yesterday (not sent late); the day before is still to come.
    assert [(r.recipient, r.due_at, r.status) for r in rows] == [
        (OWNER, datetime(2026, 12, 9, 9, 0, tzinfo=UTC), "pending"),
    ]
    assert "Open incidents on their services: 1" in rows[0].text
    clock.advance(timedelta(days=12))  # 9 December, 10:00
    ctx.notifier.send_due()
    reminder = [m for m in fake_slack.messages(DM) if "relationship_record_review" in str(m)]
    assert len(reminder) == 1 and "Retail" in reminder[0]["text"]

    slack.click(reminder[0], "relationship_record_review", user_id="U0STRANGER", channel_id=DM)
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(reminder[0], "relationship_record_review", user_id=OWNER, channel_id=DM)
    view = fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])
    answers = {
        "reviewed_on": date(2026, 12, 9),
        "attendees": [OWNER, "U0RETAILBOSS"],
        "outcome": "Happy overall; <!channel> wants faster refunds",
        "action_1_text": "Publish refund times",
        "action_1_owner": "U0LEAD",
        "action_1_due": date(2026, 12, 20),
    }
    future = slack.submit(view, {**answers, "reviewed_on": date(2027, 1, 1)}, user_id=OWNER)
    assert "future" in future.body["errors"][F.DATE]
    half = slack.submit(view, {**answers, "action_2_text": "Ownerless"}, user_id=OWNER)
    assert "Action 2: choose who owns it." in str(half.body["errors"]["action_2_text"])
    forged = slack.submit(view, answers, user_id="U0STRANGER")
    assert "Refused, because" in str(forged.body)
    assert slack.submit(view, answers, user_id=OWNER).status == 200
    slack.submit(view, answers, user_id=OWNER)  # delivered twice: recorded once
    with database.session() as s:
        review = s.exec(select(RelationshipReview)).one()
        assert review.next_review == date(2027, 3, 9)  # quarterly
        action = s.exec(select(ReviewAction)).one()
        assert (action.owner, action.due_on, action.done_at) == ("U0LEAD", date(2026, 12, 20), None)
    # Reminders now point at the next review; the action is reminded on its due day.
    assert [r.due_at.date() for r in review_reminders(database, key) if r.status == "pending"] == [
        date(2027, 2, 23),
        date(2027, 3, 8),
    ]
    slack.command("/customer", "show retail", user_id=OWNER)
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "Publish refund times" in shown and "&lt;!channel&gt; wants" in shown
    assert "2027-03-09" in shown and "<!channel>" not in shown
    clock.advance(timedelta(days=11))  # 20 December
    ctx.notifier.send_due()
    due = [m for m in fake_slack.messages("DU0LEAD") if "review_action_done" in str(m)]
    assert len(due) == 1 and "Publish refund times" in due[0]["text"]
    slack.click(due[0], "review_action_done", user_id="U0STRANGER", channel_id="DU0LEAD")
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(due[0], "review_action_done", user_id="U0LEAD", channel_id="DU0LEAD")
    slack.click(due[0], "review_action_done", user_id="U0LEAD", channel_id="DU0LEAD")
    assert "already done" in fake_slack.calls("response_url")[-1].args["text"]
    slack.command("/customer", "show Retail", user_id=OWNER)
    assert "Publish refund times" not in str(fake_slack.calls("response_url")[-1].args)
    slack.command("/customer", "list", user_id=OWNER)
    assert "2027-03-09" in str(fake_slack.calls("response_url")[-1].args)


def test_a_supplier_review_is_recorded_from_supplier_show(
    ctx, slack, fake_slack, database, clock, policy
):
    slack.command("/supplier", "show Acme Networks", user_id=SUPPLIER_OWNER)
    shown = fake_slack.calls("response_url")[-1].args
    assert "No review recorded yet" in str(shown)
    message = {"type": "message", "ts": "1.2", "text": "", "blocks": shown["blocks"]}
    slack.click(message, "relationship_record_review", user_id=SUPPLIER_OWNER, channel_id="C0WORK")
    view = fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])
    slack.submit(
        view,
        {"reviewed_on": date(2026, 11, 20), "outcome": "Met the contract"},
        user_id=SUPPLIER_OWNER,
    )
    slack.command("/supplier", "show Acme Networks", user_id=SUPPLIER_OWNER)
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "Met the contract" in shown and "next: 2027-05-19" in shown
    sweep_relationships(db=ctx.db, clock=ctx.clock, policy=policy)
    rows = review_reminders(database, party_key(PartyKind.SUPPLIER, "Acme Networks"))
    assert [r.due_at.date() for r in rows] == [date(2027, 5, 5), date(2027, 5, 18)]
    assert resolved_incident  # (shared helpers)
