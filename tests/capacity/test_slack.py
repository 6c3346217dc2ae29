"""Capacity in Slack, through the real App and the fake Slack: `/servicedesk capacity [item]`,
the capacity lines of `/ci show`, a warning reaching its owner through the outbox, and the
capacity plan reminded and reviewed like a controlled document."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from models.sms import SmsItem, SmsReviewRef
from services import capacity, sms_reviews
from tests.capacity.conftest import PLANNER
from tests.handlers.test_incident_flow import latest_view

DAY = timedelta(days=1)


def measure(database, policy, clock, item, metric, values):  # type: ignore[no-untyped-def]
    for value in values:
        with database.session() as session:
            capacity.record(
                session, policy=policy, item=item, metric=metric, value=value, at=None,
                now=clock.now(),
            )
        clock.advance(DAY)


def answer(slack, fake_slack, command: str, text: str) -> str:  # type: ignore[no-untyped-def]
    slack.command(command, text, user_id="U0AGENT1")
    return str(fake_slack.calls("response_url")[-1].args)


def test_the_capacity_view_lists_every_requirement_and_the_plans(
    slack, fake_slack, database, policy, clock
):
    measure(database, policy, clock, "payments", "cpu", [40, 50, 60])
    shown = answer(slack, fake_slack, "/servicedesk", "capacity")
    assert "Capacity" in shown
    assert "*Payments* cpu: *60%* :large_green_circle: ok" in shown
    assert "warning ≥ 70%, critical ≥ 90%" in shown
    assert "trend reaches critical <!date^" in shown and ":crystal_ball:" in shown
    assert "<@U0LEAD>" in shown
    assert "*orders-db* disk_used: _nothing measured yet_" in shown
    assert "critical ≤ 5" in shown  # lower is worse for tunnels_free
    assert "<https://wiki.example.com/capacity|Capacity plan 2027>* version 1" in shown
    assert "next review Tue 01 Dec 2026" in shown
    one = answer(slack, fake_slack, "/servicedesk", "capacity vpn")
    assert "tunnels_free" in one and "cpu" not in one
    unknown = answer(slack, fake_slack, "/servicedesk", "capacity <!channel>")
    assert "No capacity requirement is for `&lt;!channel&gt;`" in unknown
    assert "Items: orders-db, Payments, vpn" in unknown
    huge = answer(slack, fake_slack, "/servicedesk", "capacity " + "x" * 400)
    assert "No capacity requirement is for" in huge


def test_without_requirements_the_view_says_how_to_add_them(slack, fake_slack, ctx):
    from bot.policy import parse_policy
    from tests.conftest import TEST_POLICY

    ctx.policy = parse_policy(TEST_POLICY)
    assert "Add `[[capacity]]` entries" in answer(slack, fake_slack, "/servicedesk", "capacity")


def test_ci_show_has_the_items_capacity(slack, fake_slack, database, policy, clock, cmdb_items):
    measure(database, policy, clock, "orders-db", "disk_used", [960])
    shown = answer(slack, fake_slack, "/ci", "show orders-db")
    assert "*Capacity*" in shown
    assert "*orders-db* disk_used: *960 GB* :rotating_light: critical" in shown
    assert "<@U0DBA>" in shown
    plain = answer(slack, fake_slack, "/ci", "show payments")
    assert "*Payments* cpu: _nothing measured yet_" in plain


def test_a_warning_reaches_the_owner_by_direct_message(ctx, fake_slack, database, policy, clock):
    measure(database, policy, clock, "vpn", "tunnels_free", [12])
    ctx.notifier.send_due()
    (dm,) = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "DU0VPNOWNER"]
    assert ":warning: *vpn* tunnels_free is at 12, past its warning threshold" in dm.args["text"]


def test_the_capacity_plan_is_reminded_and_reviewed_like_a_document(
    slack, ctx, fake_slack, database, policy, clock
):
    with database.session() as session:
        assert sms_reviews.sweep(session, now=clock.now(), policy=policy) == 1
    with database.session() as session:
        row = session.exec(select(SmsItem).where(SmsItem.kind == "capacity")).one()
        assert row.key == "CPL-1" and row.next_review == date(2026, 12, 1)
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    ctx.notifier.send_due()
    (dm,) = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == f"D{PLANNER}"]
    assert "The capacity plan *Capacity plan 2027* is due for review on Tue 01 Dec 2026" in (
        dm.args["text"]
    )
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    shown = answer(slack, fake_slack, "/servicedesk", "capacity")
    assert "Record review: Capacity plan 2027" in shown
    reminder = fake_slack.message(dm.response["channel"], dm.response["ts"])
    buttons = [e for b in reminder["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert SmsReviewRef.load(buttons[0]["value"]).kind == "capacity"
    slack.click(reminder, "sms_record_review", user_id="U0STRANGER", channel_id=dm.response["channel"])
    assert "Refused, because only the capacity plan's owner" in str(fake_slack.calls("response_url")[-1].args)
    slack.click(reminder, "sms_record_review", user_id=PLANNER, channel_id=dm.response["channel"])
    view = latest_view(fake_slack)
    assert "Review of the capacity plan *Capacity plan 2027*" in str(view["blocks"])
    values = {"reviewed_on": date(2026, 12, 1), "outcome": "updated", "version": "2"}
    done = slack.submit(view, values, user_id=PLANNER)
    assert done.status == 200 and not done.body
    with database.session() as session:
        row = session.exec(select(SmsItem).where(SmsItem.kind == "capacity")).one()
    assert (row.version, row.next_review) == ("2", date(2027, 3, 1))  # quarterly


def test_the_incident_a_critical_crossing_opens_is_posted_by_the_announce_sweep(
    ctx, fake_slack, database, policy, clock
):
    from composition import hooks_for
    from schedules.scheduler import announce_missed

    measure(database, policy, clock, "payments", "cpu", [97])
    assert announce_missed(db=database, clock=clock, hooks=hooks_for(ctx)) == ["INC-1"]
    posted = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "C0INCIDENTS"]
    assert "Capacity critical: Payments cpu at 97%" in str(posted[0].args)


def test_the_owners_messages_escape_what_the_policy_file_says():
    from models.capacity import CapacityAlert
    from tests.capacity.escaping_support import requirement
    from tests.handlers.hostile import assert_no_markup

    for kind in ("warning", "critical", "forecast"):
        for entry in (requirement(), requirement("down")):
            alert = CapacityAlert(
                state_id=1, number=1, item="x", metric="y", kind=kind, value=93.0,
                measured_at=datetime(2026, 11, 27, tzinfo=UTC),
                forecast_at=datetime(2026, 12, 1, tzinfo=UTC), raised_at=datetime(2026, 11, 27, tzinfo=UTC),
            )
            assert_no_markup(capacity.alert_text(entry, alert), kind)
