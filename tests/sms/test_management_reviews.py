"""Management reviews from `[sms.management_review]` through the sweeps, the outbox and the real
App: one review is planned and posted; its owner is reminded with the inputs the bot prepares;
the review is recorded from the reminder (date, attendees, decisions, actions), the actions are
reminded when due and marked done once; `/servicedesk review` shows the next review, the inputs
and past ones; the inputs are a registry another capability adds to with one line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.policy import parse_policy
from models.management_review import ManagementReview, ManagementReviewAction
from models.notification import Notification
from services import improvements, nonconformities, review_inputs
from services.errors import Forbidden
from services.permissions import Actor, Role
from tests.sms.conftest import SMS_POLICY, sms_message, thread_of
from tests.sms.test_audits import _tick

OWNER = "U0CEO"
DM = f"D{OWNER}"
AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))

REVIEW = f"""
[sms.management_review]
owner = "{OWNER}"
every = "half-yearly"
first = 2026-12-10
remind_before = ["14d", "1d"]
"""


def _reviews(database) -> list[tuple[str, str, date]]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        rows = session.exec(select(ManagementReview).order_by(col(ManagementReview.id))).all()
        return [(r.key, r.status, r.planned_on) for r in rows]


def _reminders(database, key: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    with database.session() as s:
        return list(
            s.exec(
                select(Notification)
                .where(Notification.record_key == key, Notification.kind == "reminder")
                .order_by(col(Notification.due_at))
            )
        )


def _some_records(database, clock, policy) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        nonconformities.raise_nc(
            session,
            title="No CAB minutes",
            description="",
            owner="U0NCOWNER",
            source="management review",
            actor=AGENT,
            now=clock.now(),
        )
        improvements.propose(
            session,
            title="Faster CAB",
            description="",
            process="change",
            actor=Actor("U0ANYONE"),
            now=clock.now(),
            policy=policy,
        )


def test_a_review_is_planned_reminded_with_its_inputs_recorded_and_its_actions_followed(
    slack, ctx, fake_slack, database, clock
):
    ctx.policy = parse_policy(SMS_POLICY + REVIEW)
    _some_records(database, clock, ctx.policy)
    _tick(ctx)
    _tick(ctx)
    assert _reviews(database) == [("MR-1", "planned", date(2026, 12, 10))]
    # 14 days ahead was yesterday: not sent late; the day before is prepared when it comes.
    assert _reminders(database, "MR-1") == []
    clock.advance(timedelta(minutes=2))
    _tick(ctx)  # the announce sweep posts it
    message = sms_message(fake_slack, "MR-1")
    assert "mr_record" in str(message["blocks"]) and "mr_cancel" in str(message["blocks"])

    clock.advance(timedelta(days=11, hours=22, minutes=55))  # 9 December, 08:57
    _tick(ctx)
    (queued,) = _reminders(database, "MR-1")
    assert (queued.recipient, queued.due_at) == (OWNER, datetime(2026, 12, 9, 9, tzinfo=UTC))
    for title in (
        "Objective attainment",
        "Service report figures",
        "Internal audit results",
        "Nonconformities",
        "Improvements",
        "Customer satisfaction",
        "Supplier performance",
        "Budget status",
    ):
        assert f"*{title}*" in queued.text, title
    assert "Raised in the period: 1, of which closed: 0" in queued.text
    assert "P1 resolution within target (target ≥ 95 %)" in queued.text
    _tick(ctx)  # a second sweep queues nothing more
    assert len(_reminders(database, "MR-1")) == 1
    clock.advance(timedelta(minutes=5))
    ctx.notifier.send_due()
    (reminder,) = [m for m in fake_slack.messages(DM) if "mr_record" in str(m)]

    slack.click(reminder, "mr_record", user_id="U0STRANGER", channel_id=DM)
    assert "Refused, because only MR-1's owner" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(reminder, "mr_record", user_id=OWNER, channel_id=DM)
    view = fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])
    answers = {
        "held_on": date(2026, 12, 9),
        "attendees": [OWNER, "U0QUALITY"],
        "decisions": "Keep the targets; <!channel> hire one more agent",
        "action_1": "Hire an agent",
        "action_1_owner": "U0LEAD",
        "action_1_due": date(2026, 12, 20),
    }
    future = slack.submit(view, {**answers, "held_on": date(2027, 1, 1)}, user_id=OWNER)
    assert "in the future" in future.body["errors"]["held_on"]
    ownerless = slack.submit(view, {**answers, "action_2": "Nobody's"}, user_id=OWNER)
    assert "Choose who owns" in ownerless.body["errors"]["action_2_owner"]
    past_due = slack.submit(view, {**answers, "action_1_due": date(2026, 12, 1)}, user_id=OWNER)
    assert "in the past" in past_due.body["errors"]["action_1_due"]
    forged = slack.submit(view, answers, user_id="U0STRANGER")
    assert "Refused, because" in str(forged.body)
    assert slack.submit(view, answers, user_id=OWNER).status == 200
    again = slack.submit(view, answers, user_id=OWNER)  # delivered twice: recorded once
    assert "cannot be recorded now" in str(again.body)
    with database.session() as s:
        review = s.exec(select(ManagementReview)).one()
        assert (review.status, review.held_on) == ("held", date(2026, 12, 9))
        assert review.inputs and "Nonconformities" in review.inputs
        (action,) = s.exec(select(ManagementReviewAction)).all()
        assert (action.owner, action.due_on, action.done_at) == ("U0LEAD", date(2026, 12, 20), None)
    assert [r.status for r in _reminders(database, "MR-1")] == ["sent"]
    assert [r.due_at.date() for r in _reminders(database, "MRA-1")] == [
        date(2026, 12, 19),
        date(2026, 12, 20),
        date(2026, 12, 27),
    ]
    message = sms_message(fake_slack, "MR-1")
    shown = str(message["blocks"])
    assert "&lt;!channel&gt; hire" in shown and "<!channel>" not in shown
    assert "Hire an agent" in shown and "mr_action_done" in shown and "mr_record" not in shown
    assert any("recorded MR-1" in t for t in thread_of(fake_slack, message))

    _tick(ctx)
    assert _reviews(database)[-1] == ("MR-2", "planned", date(2027, 6, 10))

    clock.advance(timedelta(days=11))  # 20 December, the action's due day
    ctx.notifier.send_due()
    assert any("MRA-1" in m["text"] for m in fake_slack.messages("DU0LEAD"))
    slack.click(message, "mr_action_done", user_id="U0STRANGER", channel_id="C0SMS")
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(message, "mr_action_done", user_id="U0LEAD", channel_id="C0SMS")
    slack.click(message, "mr_action_done", user_id="U0LEAD", channel_id="C0SMS")
    assert "already done" in fake_slack.calls("response_url")[-1].args["text"]
    assert {r.status for r in _reminders(database, "MRA-1")} == {"sent", "cancelled"}

    slack.command("/servicedesk", "review", user_id="U0STRANGER")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "MR-2* on" not in shown and "MR-2 on Thu 10 Jun 2027" in shown
    assert "Inputs prepared now" in shown and "*MR-1* Held" in shown
    slack.command("/servicedesk", "review show MR-1", user_id="U0STRANGER")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "done by <@U0LEAD>" in shown and "Inputs as prepared" in shown


def test_only_an_admin_cancels_and_the_next_one_is_planned(slack, ctx, fake_slack, database, clock):
    ctx.policy = parse_policy(SMS_POLICY + REVIEW.replace("first = 2026-12-10\n", ""))
    _tick(ctx)
    assert _reviews(database) == [("MR-1", "planned", date(2027, 5, 27))]
    clock.advance(timedelta(minutes=2))
    _tick(ctx)
    message = sms_message(fake_slack, "MR-1")
    slack.click(message, "mr_cancel", user_id=OWNER, channel_id="C0SMS")
    assert "only an admin can cancel MR-1" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(message, "mr_cancel", user_id="U0ADMIN", channel_id="C0SMS")
    _tick(ctx)
    assert [status for _, status, _ in _reviews(database)] == ["cancelled", "planned"]


def test_without_the_section_nothing_is_planned_and_the_command_says_how(
    slack, ctx, fake_slack, database
):
    _tick(ctx)
    assert _reviews(database) == []
    slack.command("/servicedesk", "review", user_id="U0STRANGER")
    assert "[sms.management_review]" in str(fake_slack.calls("response_url")[-1].args)


def test_a_capability_adds_an_input_with_one_line(ctx, database, clock, monkeypatch):
    monkeypatch.setattr(review_inputs, "INPUTS", dict(review_inputs.INPUTS))
    review_inputs.register("spares", "Spare parts", lambda s, p, period: ["disk <90 %> full"])
    with pytest.raises(ValueError, match="registered twice"):
        review_inputs.register("spares", "Spare parts", lambda s, p, period: [])
    from services import management_reviews

    with database.session() as session:
        _period, prepared = management_reviews.inputs(session, policy=ctx.policy, now=clock.now())
    assert prepared[-1] == review_inputs.Prepared("Spare parts", ["disk <90 %> full"])
    from handlers.management_reviews.render import inputs_lines

    assert inputs_lines(prepared)[-1] == "• disk &lt;90 %&gt; full"


def test_the_owner_or_an_admin_records_it_and_the_lifecycle_has_no_dead_end():
    from services import management_reviews

    record = ManagementReview(id=1, owner=OWNER, planned_on=date(2026, 12, 1), created_by="x")
    management_reviews.check_step(record, "record", Actor(OWNER))
    with pytest.raises(Forbidden, match="owner"):
        management_reviews.check_step(record, "record", Actor("U0OTHER"))
