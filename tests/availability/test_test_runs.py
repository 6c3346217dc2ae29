"""Tests falling due, reminders, Passed/Failed from the buttons, chasing and escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models.audit import AuditEntry
from models.availability_policy import ServiceTest
from services import incidents, links
from tests.availability.conftest import OWNER, OWNER_GROUP, outbox_stages, runs, sweep

WEEK = timedelta(days=7)


def _reminder_dm(fake_slack, user: str) -> dict:
    posts = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == f"D{user}"]
    assert posts, f"no DM to {user}"
    return posts[-1].args


def test_falls_due_once_with_one_reminder_to_the_owner(ctx, owners, database, clock, policy):
    first_seen = clock.now()
    assert sweep(database, clock, policy) == []  # first sweep: due a week from now
    clock.advance(WEEK - timedelta(minutes=1))
    assert sweep(database, clock, policy) == [] and runs(database) == []
    clock.advance(minutes=1)
    queued = sweep(database, clock, policy)
    assert [(r.stage, r.recipient) for r in queued] == [("due", OWNER_GROUP)]
    for _ in range(3):
        assert sweep(database, clock, policy) == []
    (run,) = runs(database)
    assert (run.service, run.test_name, run.status, run.late) == (
        "payments",
        "restore drill",
        "pending",
        False,
    )
    assert run.due_at == first_seen + WEEK
    assert outbox_stages(database, run.key) == [("due", OWNER_GROUP)]
    # The notifier expands the owner group: one DM per member, with the two buttons.
    ctx.notifier.send_due()
    ctx.notifier.send_due()
    dm = _reminder_dm(owners, OWNER)
    assert "restore drill" in dm["text"]
    assert (
        len([c for c in owners.calls("chat.postMessage") if c.args["channel"] == "DU0OWNER"]) == 1
    )
    action_ids = [
        e["action_id"] for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert action_ids == ["service_test_passed", "service_test_failed"]


def _due_run(ctx, database, clock, policy):  # type: ignore[no-untyped-def]
    sweep(database, clock, policy)
    clock.advance(WEEK)
    sweep(database, clock, policy)
    ctx.notifier.send_due()
    ctx.notifier.send_due()


def test_passed_only_by_owner_or_agent_and_counts_once(slack, ctx, owners, database, clock, policy):
    _due_run(ctx, database, clock, policy)
    blocks = _reminder_dm(owners, OWNER)["blocks"]
    slack.click(blocks, "service_test_passed", user_id="U0STRANGER", channel_id="DU0STRANGER")
    refusal = owners.calls("response_url")[-1].args["text"]
    assert "owner" in refusal and "agent" in refusal
    assert runs(database)[0].status == "pending"

    slack.click(blocks, "service_test_passed", user_id=OWNER, channel_id="DU0OWNER")
    slack.click(blocks, "service_test_passed", user_id=OWNER, channel_id="DU0OWNER")
    (run,) = runs(database)
    assert (run.status, run.recorded_by, run.recorded_at) == ("passed", OWNER, clock.now())
    assert "already recorded as passed" in owners.calls("response_url")[-1].args["text"]
    with database.session() as session:
        passed = session.exec(
            select(AuditEntry).where(
                AuditEntry.record_key == run.key, AuditEntry.action == "passed"
            )
        ).all()
    assert len(passed) == 1
    # Recorded: no chasing afterwards.
    clock.advance(days=4)
    assert sweep(database, clock, policy) == []


def test_failed_needs_a_note_then_opens_a_linked_announced_incident(
    slack, ctx, owners, database, clock, policy
):
    _due_run(ctx, database, clock, policy)
    post = [c for c in owners.calls("chat.postMessage") if c.args["channel"] == "DU0OWNER2"][-1]
    reminder = owners.message(post.response["channel"], post.response["ts"])
    slack.click(reminder, "service_test_failed", user_id="U0OWNER2", channel_id="DU0OWNER2")
    view = owners.view(owners.wait_for("views.open")[-1].response["view"]["id"])
    assert view["callback_id"] == "service_test_failed_view"
    empty = slack.submit(view, {"note": "   "}, user_id="U0OWNER2")
    assert empty.body["response_action"] == "errors" and "note" in empty.body["errors"]
    assert runs(database)[0].status == "pending"

    done = slack.submit(
        view, {"note": "Restore from last night's backup failed"}, user_id="U0OWNER2"
    )
    assert done.status == 200 and not done.body
    # The reminder's buttons give way to the outcome.
    updated = owners.message(post.response["channel"], post.response["ts"])
    assert "failed" in updated["text"] and "service_test_failed" not in str(updated["blocks"])
    again = slack.submit(view, {"note": "Restore failed"}, user_id="U0OWNER2")
    assert again.status == 200
    (run,) = runs(database)
    assert (run.status, run.note, run.incident_key) == (
        "failed",
        "Restore from last night's backup failed",
        "INC-1",
    )
    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert incident.title == "Continuity test failed: restore drill on payments"
        assert (incident.service, incident.impact, incident.urgency) == (
            "payments",
            "high",
            "medium",
        )
        assert links.linked(session, key="INC-1", kind="test run") == [run.key]
        assert incident.channel_id == "C0INCIDENTS" and incident.message_ts
    message = owners.message(incident.channel_id, incident.message_ts)
    assert "Continuity test failed" in str(message["blocks"])
    top_level = [
        c
        for c in owners.calls("chat.postMessage")
        if c.args["channel"] == "C0INCIDENTS" and "thread_ts" not in c.args
    ]
    assert len(top_level) == 1


def test_overdue_is_chased_then_escalated_once_each(ctx, owners, database, clock, policy):
    sweep(database, clock, policy)
    clock.advance(WEEK)
    sweep(database, clock, policy)
    (run,) = runs(database)
    clock.advance(hours=23, minutes=59)
    assert sweep(database, clock, policy) == [] and runs(database)[0].status == "pending"
    clock.advance(minutes=1)
    assert [(r.stage, r.recipient) for r in sweep(database, clock, policy)] == [
        ("chase:1", OWNER_GROUP)
    ]
    assert runs(database)[0].status == "overdue"
    assert sweep(database, clock, policy) == []
    clock.advance(days=1)
    assert [r.stage for r in sweep(database, clock, policy)] == ["chase:2"]
    clock.advance(days=1)
    assert [(r.stage, r.recipient) for r in sweep(database, clock, policy)] == [
        ("chase:3", OWNER_GROUP),
        ("escalated", "U0LEAD"),
    ]
    for _ in range(3):
        assert sweep(database, clock, policy) == []
    assert outbox_stages(database, run.key) == [
        ("due", OWNER_GROUP),
        ("chase:1", OWNER_GROUP),
        ("chase:2", OWNER_GROUP),
        ("chase:3", OWNER_GROUP),
        ("escalated", "U0LEAD"),
    ]
    ctx.notifier.send_due()
    lead = [c for c in owners.calls("chat.postMessage") if c.args["channel"] == "DU0LEAD"]
    assert len(lead) == 1 and "restore drill" in lead[0].args["text"]


def test_run_missed_while_down_is_created_once_and_marked_late(database, clock, policy):
    start = clock.now()
    sweep(database, clock, policy)
    clock.advance(WEEK * 3 + timedelta(hours=5))  # three due times passed while down
    queued = sweep(database, clock, policy)
    assert [r.stage for r in queued] == ["due"]
    (run,) = runs(database)
    assert run.late is True and run.due_at == start + WEEK * 3
    assert sweep(database, clock, policy) == [] and len(runs(database)) == 1
    clock.advance(WEEK - timedelta(hours=5))
    sweep(database, clock, policy)
    assert [r.late for r in runs(database)] == [True, False]


def test_cron_schedule_and_latest_due():
    test = ServiceTest(name="dr", schedule="0 9 * * mon", owner="U0OWNER")
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert test.next_after(friday) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert test.latest_due(after=friday, now=friday + timedelta(days=2)) is None
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert test.latest_due(after=friday, now=monday) == monday
    three_weeks = monday + timedelta(days=14, hours=1)
    assert test.latest_due(after=friday, now=three_weeks) == monday + timedelta(days=14)
