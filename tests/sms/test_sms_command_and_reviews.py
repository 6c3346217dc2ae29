"""`/servicedesk sms` through the real App: the policy, objectives with their measured value,
process owners and documents; review reminders through the outbox; the review recorded from
the button by the owner (a stranger refused on the click and on a forged form); the sweep's
statement count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event
from sqlmodel import select

from bot.policy import parse_policy
from models.audit import AuditEntry
from models.sms import SmsItem, SmsReview, SmsReviewRef
from services import notifications, sms_reviews
from tests.agreements.conftest import acknowledge, log, resolve
from tests.handlers.test_incident_flow import latest_view
from tests.sms.conftest import DOC_OWNER, SMS_POLICY

CHANGE_DOC = "Change procedure <v>"


def _sweep(database, clock, policy) -> int:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return sms_reviews.sweep(session, now=clock.now(), policy=policy)


def _row(database, name: str) -> SmsItem:
    with database.session() as session:
        return session.exec(select(SmsItem).where(SmsItem.name == name)).one()


def _reminders(database, key: str) -> list[tuple[str, str, str]]:
    with database.session() as session:
        rows = notifications.for_record(session, record_key=key, kind="reminder")
        return [(row.stage, row.recipient, row.status) for row in rows]


def _shown(slack, fake_slack) -> str:  # type: ignore[no-untyped-def]
    slack.command("/servicedesk", "sms", user_id="U0AGENT1")
    return str(fake_slack.calls("response_url")[-1].args)


def test_sms_shows_policy_measured_objectives_owners_and_documents(
    slack, fake_slack, database, clock, policy
):
    met = log(database, clock, policy, service="payments", urgency="high")
    late = log(database, clock, policy, service="payments", urgency="high")
    acknowledge(database, clock, policy, met)
    acknowledge(database, clock, policy, late)
    clock.advance(timedelta(hours=1))
    resolve(database, clock, policy, met)
    clock.advance(timedelta(hours=5))  # past P1's 4-hour resolution target
    resolve(database, clock, policy, late)
    shown = _shown(slack, fake_slack)
    assert "We run IT services &lt;reliably&gt; &amp; measure it." in shown
    assert "owned by <@U0CEO>" in shown
    assert "measured Q4 2026 so far" in shown
    assert "*P1 resolution within target* (target ≥ 95 %): *50.0 %* (1 of 2 met) :warning:" in shown
    assert "*Staff trained in ITSM* (target ≥ 80 %): measured outside the bot" in shown
    assert "next review Thu 31 Dec 2026" in shown
    assert "Incident management: <@U0LEAD>" in shown
    assert "Change management: <!subteam^S0CAB>" in shown
    assert "Capacity management: _unassigned_" in shown
    assert "<https://wiki.example.com/change|Change procedure &lt;v&gt;>* version 1.2" in shown
    assert "next review Thu 10 Dec 2026" in shown
    assert "*Incident procedure* version 3" in shown
    assert "next review Sat 27 Nov 2027" in shown  # one year after first seen
    assert "sms_record_review" not in shown  # nothing is due yet


def test_without_sms_the_command_says_how_to_add_it(slack, fake_slack, ctx):
    ctx.policy = parse_policy(SMS_POLICY[: SMS_POLICY.index("[sms]")])
    shown = _shown(slack, fake_slack)
    assert "No service management system is described yet" in shown


def _reminded(ctx, fake_slack, database, clock, policy):  # type: ignore[no-untyped-def]
    assert _sweep(database, clock, policy) == 4
    assert _sweep(database, clock, policy) == 0
    key = _row(database, CHANGE_DOC).key
    # The 14-day reminder's time (26 Nov) had passed when it was planned: only the 1-day one.
    assert _reminders(database, key) == [("review:1d@20261209T090000Z", DOC_OWNER, "pending")]
    clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    for _ in range(2):
        _sweep(database, clock, policy)
        ctx.notifier.send_due()
    dms = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == f"D{DOC_OWNER}"]
    (dm,) = dms
    return dm


def test_the_owner_is_reminded_and_records_a_new_version(
    slack, ctx, fake_slack, database, clock, policy
):
    dm = _reminded(ctx, fake_slack, database, clock, policy)
    assert "controlled document *Change procedure &lt;v&gt;* is due for review" in dm.args["text"]
    reminder = fake_slack.message(dm.response["channel"], dm.response["ts"])
    buttons = [e for b in reminder["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert SmsReviewRef.load(buttons[0]["value"]) == SmsReviewRef(kind="document", name=CHANGE_DOC)
    slack.click(reminder, "sms_record_review", user_id=DOC_OWNER, channel_id=dm.response["channel"])
    view = latest_view(fake_slack)
    assert view["callback_id"] == "sms_review_view"
    assert "now version 1.2" in str(view["blocks"])
    no_version = slack.submit(
        view, {"reviewed_on": date(2026, 12, 8), "outcome": "updated"}, user_id=DOC_OWNER
    )
    assert "needs its new version" in no_version.body["errors"]["note"]
    garbage = slack.submit(
        view, {"reviewed_on": "yesterday", "outcome": "updated"}, user_id=DOC_OWNER
    )
    assert garbage.body["errors"] == {"reviewed_on": "'yesterday' is not a date."}
    values = {
        "reviewed_on": date(2026, 12, 8),
        "outcome": "updated",
        "version": "1.3",
        "note": "<!channel> new CAB rule",
    }
    done = slack.submit(view, values, user_id=DOC_OWNER)
    assert done.status == 200 and not done.body
    again = slack.submit(view, values, user_id=DOC_OWNER)  # a repeated delivery
    assert again.status == 200 and not again.body
    row = _row(database, CHANGE_DOC)
    with database.session() as session:
        (review,) = session.exec(select(SmsReview)).all()
        trail = session.exec(select(AuditEntry).where(AuditEntry.record_key == row.key)).all()
    assert (review.version, review.outcome, review.recorded_by) == ("1.3", "updated", DOC_OWNER)
    assert (row.version, row.next_review) == ("1.3", date(2027, 12, 8))
    assert [(e.action, e.from_value, e.to_value) for e in trail] == [
        ("document recorded", None, "version 1.2"),
        ("review recorded", "2026-12-10", "2027-12-08"),
        ("new version", "1.2", "1.3"),
    ]
    assert _reminders(database, row.key) == [
        ("review:1d@20261209T090000Z", DOC_OWNER, "sent"),
        ("review:14d@20271124T090000Z", DOC_OWNER, "pending"),
        ("review:1d@20271207T090000Z", DOC_OWNER, "pending"),
    ]
    updated = fake_slack.message(dm.response["channel"], dm.response["ts"])
    assert (
        "recorded by <@U0DOCOWNER>: updated, version 1.3. Next review: Wed 08 Dec 2027"
        in (updated["text"])
    )
    shown = _shown(slack, fake_slack)
    assert "Change procedure &lt;v&gt;>* version 1.3" in shown
    assert "last reviewed 08 Dec 2026 by <@U0DOCOWNER>: updated" in shown


def test_a_stranger_is_refused_on_the_click_and_on_a_forged_form(
    slack, ctx, fake_slack, database, clock, policy
):
    dm = _reminded(ctx, fake_slack, database, clock, policy)
    reminder = fake_slack.message(dm.response["channel"], dm.response["ts"])
    opened = len(fake_slack.calls("views.open"))
    slack.click(reminder, "sms_record_review", user_id="U0AGENT1", channel_id="DU0AGENT1")
    assert fake_slack.calls("response_url")[-1].args["text"] == (
        "Refused, because only the document's owner (<@U0DOCOWNER>) or an admin can record "
        "its review."
    )
    assert len(fake_slack.calls("views.open")) == opened
    slack.click(reminder, "sms_record_review", user_id=DOC_OWNER, channel_id=dm.response["channel"])
    forged = slack.submit(
        latest_view(fake_slack),
        {"reviewed_on": date(2026, 12, 8), "outcome": "confirmed"},
        user_id="U0AGENT1",
    )
    assert "only the document's owner" in forged.body["errors"]["note"]
    with database.session() as session:
        assert session.exec(select(SmsReview)).all() == []


def test_an_overdue_review_shows_with_its_button_and_an_admin_may_record_it(
    slack, fake_slack, database, clock, policy
):
    clock.set(datetime(2026, 12, 11, 9, 0, tzinfo=UTC))
    shown = _shown(slack, fake_slack)
    assert "next review Thu 10 Dec 2026 *(overdue)*" in shown
    message = {"blocks": fake_slack.calls("response_url")[-1].args["blocks"], "ts": "1.0"}
    slack.click(message, "sms_record_review", user_id="U0ADMIN", channel_id="C0X")
    done = slack.submit(
        latest_view(fake_slack),
        {"reviewed_on": date(2026, 12, 11), "outcome": "confirmed"},
        user_id="U0ADMIN",
    )
    assert done.status == 200 and not done.body
    assert _row(database, CHANGE_DOC).next_review == date(2027, 12, 11)


def test_the_file_changing_a_version_or_dropping_a_document_is_followed(database, clock, policy):
    _sweep(database, clock, policy)
    key = _row(database, CHANGE_DOC).key
    bumped = parse_policy(
        SMS_POLICY.replace('version = "1.2"', 'version = "2.0"').replace("2026-12-10", "2026-12-20")
    )
    assert _sweep(database, clock, bumped) == 1
    row = _row(database, CHANGE_DOC)
    assert (row.version, row.next_review) == ("2.0", date(2026, 12, 20))
    assert _reminders(database, key) == [
        ("review:1d@20261209T090000Z", DOC_OWNER, "cancelled"),
        ("review:14d@20261206T090000Z", DOC_OWNER, "pending"),
        ("review:1d@20261219T090000Z", DOC_OWNER, "pending"),
    ]
    start = SMS_POLICY.index("[[sms.documents]]")
    end = SMS_POLICY.index("[[sms.documents]]", start + 1)
    without = parse_policy(SMS_POLICY[:start] + SMS_POLICY[end:])
    assert _sweep(database, clock, without) == 1
    assert [s for _, _, s in _reminders(database, key)] == ["cancelled"] * 3
    assert _sweep(database, clock, without) == 0


def test_a_settled_sweep_is_one_statement_however_many_documents(database, clock):
    many = SMS_POLICY + "".join(
        f'\n[[sms.documents]]\nname = "Doc {n}"\nowner = "U0A"\nnext_review = 2027-01-{n:02d}\n'
        for n in range(1, 29)
    )
    big = parse_policy(many)
    assert _sweep(database, clock, big) == 32
    statements: list[str] = []

    def count(*args):  # type: ignore[no-untyped-def]
        statements.append(args[2])

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        assert _sweep(database, clock, big) == 0
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
