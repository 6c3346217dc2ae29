"""Review reminders through the outbox, sent once; the review recorded by the owner (or an
admin) from the button and form; a stranger refused, on the click and on a forged form."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import col, select

from models.agreement import AgreementRecord, AgreementReview, ReviewRef
from models.audit import AuditEntry
from models.notification import Notification
from services import agreement_reviews, notifications
from services.errors import Forbidden
from services.permissions import Actor
from tests.agreements.conftest import OWNER
from tests.handlers.test_incident_flow import latest_view


def _sweep(database, clock, policy) -> int:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return agreement_reviews.sweep(session, now=clock.now(), policy=policy)


def _gold_key(database) -> str:
    with database.session() as session:
        return session.exec(select(AgreementRecord).where(AgreementRecord.name == "Gold")).one().key


def _reminders(database, key: str) -> list[tuple[str, str, str]]:
    with database.session() as session:
        rows = notifications.for_record(session, record_key=key, kind="reminder")
        return [(row.stage, row.recipient, row.status) for row in rows]


def _dms(fake_slack, user: str) -> list:
    return [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == f"D{user}"]


def _reminded(ctx, fake_slack, database, clock, policy):  # type: ignore[no-untyped-def]
    """Sweep twice, move to the 14-day reminder, sweep and send twice: the owner's DM."""
    assert _sweep(database, clock, policy) == 4  # two for Gold, two for Silver
    assert _sweep(database, clock, policy) == 0
    clock.set(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))  # Gold: 14 days before 20 December
    for _ in range(2):
        _sweep(database, clock, policy)
        ctx.notifier.send_due()
    (dm,) = _dms(fake_slack, OWNER)
    return dm


def test_the_owner_is_reminded_once_before_the_review(ctx, fake_slack, database, clock, policy):
    dm = _reminded(ctx, fake_slack, database, clock, policy)
    assert "*Gold* with Retail &amp; Online is due for review on Sun 20 Dec 2026" in dm.args["text"]
    buttons = [e for b in dm.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == ["agreement_record_review"]
    assert ReviewRef.load(buttons[0]["value"]) == ReviewRef(agreement="Gold")
    key = _gold_key(database)
    assert _reminders(database, key) == [
        ("review:14d@20261206T090000Z", OWNER, "sent"),
        ("review:1d@20261219T090000Z", OWNER, "pending"),
    ]


def test_the_owner_records_the_review_and_the_next_one_is_planned(
    slack, ctx, fake_slack, database, clock, policy
):
    dm = _reminded(ctx, fake_slack, database, clock, policy)
    reminder = fake_slack.message(dm.response["channel"], dm.response["ts"])
    slack.click(
        reminder, "agreement_record_review", user_id=OWNER, channel_id=dm.response["channel"]
    )
    view = latest_view(fake_slack)
    assert view["callback_id"] == "agreement_review_view"
    missing = slack.submit(view, {"reviewed_on": date(2026, 12, 6), "note": "x"}, user_id=OWNER)
    assert missing.body["response_action"] == "errors"
    assert "outcome" in missing.body["errors"]["note"]
    future = slack.submit(
        view, {"reviewed_on": date(2026, 12, 7), "outcome": "confirmed"}, user_id=OWNER
    )
    assert "in the future" in future.body["errors"]["reviewed_on"]
    done = slack.submit(
        view,
        {"reviewed_on": date(2026, 12, 4), "outcome": "confirmed", "note": "Customer <happy>"},
        user_id=OWNER,
    )
    assert done.status == 200 and not done.body
    again = slack.submit(
        view,
        {"reviewed_on": date(2026, 12, 4), "outcome": "confirmed", "note": "Customer <happy>"},
        user_id=OWNER,
    )
    assert again.status == 200 and not again.body
    with database.session() as session:
        (review,) = session.exec(select(AgreementReview)).all()
        gold = session.exec(select(AgreementRecord).where(AgreementRecord.name == "Gold")).one()
        audit_rows = session.exec(
            select(AuditEntry).where(
                AuditEntry.record_key == gold.key, AuditEntry.action == "review recorded"
            )
        ).all()
    assert (review.reviewed_on, review.outcome, review.note, review.recorded_by) == (
        date(2026, 12, 4),
        "confirmed",
        "Customer <happy>",
        OWNER,
    )
    # Quarterly from the review held on 4 December.
    assert review.next_review == gold.next_review == date(2027, 3, 4)
    (entry,) = audit_rows
    assert (entry.actor, entry.field, entry.from_value, entry.to_value) == (
        OWNER,
        "next_review",
        "2026-12-20",
        "2027-03-04",
    )
    # The old date's last reminder is withdrawn; the new date's are planned.
    assert _reminders(database, gold.key) == [
        ("review:14d@20261206T090000Z", OWNER, "sent"),
        ("review:1d@20261219T090000Z", OWNER, "cancelled"),
        ("review:14d@20270218T090000Z", OWNER, "pending"),
        ("review:1d@20270303T090000Z", OWNER, "pending"),
    ]
    updated = fake_slack.message(dm.response["channel"], dm.response["ts"])
    assert "recorded by <@U0SLAOWNER>: confirmed. Next review: Thu 04 Mar 2027" in updated["text"]
    assert "agreement_record_review" not in str(updated["blocks"])
    slack.command("/servicedesk", "sla Gold", user_id="U0AGENT1")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "2026-12-04 confirmed (<@U0SLAOWNER>): Customer &lt;happy&gt;" in shown


def test_a_stranger_is_refused_on_the_click_and_on_a_forged_form(
    slack, ctx, fake_slack, database, clock, policy
):
    dm = _reminded(ctx, fake_slack, database, clock, policy)
    reminder = fake_slack.message(dm.response["channel"], dm.response["ts"])
    opened = len(fake_slack.calls("views.open"))
    slack.click(reminder, "agreement_record_review", user_id="U0AGENT1", channel_id="DU0AGENT1")
    refusal = fake_slack.calls("response_url")[-1].args["text"]
    assert (
        refusal
        == "Refused, because only the agreement's owner (<@U0SLAOWNER>) or an admin can record "
        "its review."
    )
    assert len(fake_slack.calls("views.open")) == opened
    # The owner's form, submitted by someone else (a replayed or forged payload).
    slack.click(
        reminder, "agreement_record_review", user_id=OWNER, channel_id=dm.response["channel"]
    )
    view = latest_view(fake_slack)
    forged = slack.submit(
        view, {"reviewed_on": date(2026, 12, 4), "outcome": "confirmed"}, user_id="U0AGENT1"
    )
    assert "only the agreement's owner" in forged.body["errors"]["note"]
    with database.session() as session:
        assert session.exec(select(AgreementReview)).all() == []
        pending = session.exec(
            select(Notification).where(col(Notification.status) == "cancelled")
        ).all()
    assert pending == []


def test_an_admin_may_record_a_review_and_strangers_not_in_the_service(
    database, clock, policy, ctx
):
    with database.session() as session:
        try:
            agreement_reviews.record_review(
                session,
                name="Gold",
                actor=Actor("U0STRANGER"),
                reviewed_on="2026-11-20",
                outcome="confirmed",
                note="",
                now=clock.now(),
                policy=policy,
            )
        except Forbidden:
            pass
        else:
            raise AssertionError("a stranger recorded a review")
        admin = ctx.directory.actor("U0ADMIN", policy)
        review = agreement_reviews.record_review(
            session,
            name="gold",
            actor=admin,
            reviewed_on="2026-11-20",
            outcome="changes agreed",
            note="",
            now=clock.now(),
            policy=policy,
        )
    assert (review.name, review.recorded_by, review.next_review) == (
        "Gold",
        "U0ADMIN",
        date(2027, 2, 20),
    )


def test_a_reminder_already_past_when_planned_is_not_sent_and_an_overdue_review_shows(
    slack, ctx, fake_slack, database, clock
):
    from bot.policy import parse_policy
    from tests.agreements.conftest import AGREEMENT_POLICY

    # Reviewed on 5 December, eight days away: the 14-day reminder's time has gone.
    soon = parse_policy(AGREEMENT_POLICY.replace("2026-12-20", "2026-12-05"))
    with database.session() as session:
        gold = session.exec(select(AgreementRecord).where(AgreementRecord.name == "Gold")).one()
        gold.next_review = date(2026, 12, 5)
        session.add(gold)
    _sweep(database, clock, soon)
    assert _reminders(database, _gold_key(database)) == [
        ("review:1d@20261204T090000Z", OWNER, "pending")
    ]
    clock.set(datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
    slack.command("/servicedesk", "sla Gold", user_id="U0AGENT1")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "next: Sat 05 Dec 2026 (overdue)" in shown and "agreement_record_review" in shown


def test_an_agreement_removed_from_the_file_loses_its_pending_reminders(
    ctx, database, clock, policy
):
    from bot.policy import parse_policy
    from tests.agreements.conftest import AGREEMENT_POLICY

    _sweep(database, clock, policy)
    key = _gold_key(database)
    assert [status for _, _, status in _reminders(database, key)] == ["pending", "pending"]
    start = AGREEMENT_POLICY.index("[[agreements]]")
    end = AGREEMENT_POLICY.index("[[agreements]]", start + 1)
    without_gold = parse_policy(AGREEMENT_POLICY[:start] + AGREEMENT_POLICY[end:])
    assert _sweep(database, clock, without_gold) == 0
    assert [status for _, _, status in _reminders(database, key)] == ["cancelled", "cancelled"]
