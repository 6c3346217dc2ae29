"""reminders.sync: the pending reminders of one record become exactly the future part of its
plan, leaving other records and other kinds of notification alone."""

from __future__ import annotations

import json
from datetime import timedelta

from services import notifications, reminders
from services.reminders import Planned


def _text(planned: Planned) -> str:
    return f"{planned.stage} for {planned.recipient}"


def _sync(database, clock, plan, key="CHG-1"):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return reminders.sync(session, record_key=key, plan=plan, text=_text, now=clock.now())


def _rows(database, key="CHG-1", kind=None):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return [
            (row.kind, row.stage, row.recipient, row.status, row.text)
            for row in notifications.for_record(session, record_key=key, kind=kind)
        ]


def test_plan_becomes_pending_rows_once(database, clock):
    start = clock.now() + timedelta(days=1)
    plan = [Planned("start-1h", start, "U1"), Planned("start-1h", start, "S0CAB")]
    assert _sync(database, clock, plan) == ["start-1h@20261128T100000Z"] * 2
    assert _rows(database) == [
        ("reminder", "start-1h@20261128T100000Z", "U1", "pending", "start-1h for U1"),
        ("reminder", "start-1h@20261128T100000Z", "S0CAB", "pending", "start-1h for S0CAB"),
    ]
    with database.session() as session:
        rows = notifications.for_record(session, record_key="CHG-1")
        assert [(r.due_at, r.created_at) for r in rows] == [(start, clock.now())] * 2
    assert _sync(database, clock, plan) == []
    assert len(_rows(database)) == 2


def test_no_recipient_and_stale_reminders_are_left_out(database, clock):
    edge = clock.now() - reminders.STALE_AFTER
    plan = [
        Planned("nobody", clock.now() + timedelta(hours=1), ""),
        Planned("stale", edge, "U1"),
        Planned("just-in-time", edge + timedelta(seconds=1), "U1"),
    ]
    assert _sync(database, clock, plan) == ["just-in-time@20261127T095501Z"]
    assert [(r[1], r[2]) for r in _rows(database)] == [("just-in-time@20261127T095501Z", "U1")]


def test_a_rescheduled_plan_cancels_the_old_reminders_of_this_record_only(database, clock):
    first = clock.now() + timedelta(days=1)
    _sync(database, clock, [Planned("start-1h", first, "U1")])
    _sync(database, clock, [Planned("start-1h", first, "U1")], key="CHG-2")
    with database.session() as session:
        notifications.schedule(
            session,
            record_key="CHG-1",
            kind="sla",
            stage="response:50",
            recipient="U1",
            due_at=first,
            text="not a reminder",
        )
    moved = first + timedelta(days=2)
    assert _sync(database, clock, [Planned("start-1h", moved, "U1")]) == [
        "start-1h@20261130T100000Z"
    ]
    assert [(r[1], r[3]) for r in _rows(database, kind="reminder")] == [
        ("start-1h@20261128T100000Z", "cancelled"),
        ("start-1h@20261130T100000Z", "pending"),
    ]
    assert [r[3] for r in _rows(database, kind="sla")] == ["pending"]
    assert [r[3] for r in _rows(database, key="CHG-2")] == ["pending"]
    # An empty plan cancels what is left; a sent reminder stays sent.
    _sync(
        database, clock, [Planned("start-1d", clock.now(), "U1"), Planned("start-1h", moved, "U1")]
    )
    with database.session() as session:
        (due,) = notifications.claim_due(session, now=clock.now())
        notifications.mark_sent(session, id=due.id, now=clock.now())
    assert _sync(database, clock, []) == []
    assert [(r[1], r[3]) for r in _rows(database, kind="reminder")] == [
        ("start-1h@20261128T100000Z", "cancelled"),
        ("start-1h@20261130T100000Z", "cancelled"),
        ("start-1d@20261127T100000Z", "sent"),
    ]


def test_blocks_are_built_from_the_planned_reminder_and_its_text(database, clock):
    start = clock.now() + timedelta(days=1)
    plan = [Planned("start-1h", start, "U1")]

    def blocks(planned: Planned, message: str) -> list[dict[str, str]]:
        return [{"type": "section", "text": f"{message} | {planned.stage} {planned.due_at:%H:%M}"}]

    with database.session() as session:
        reminders.sync(
            session, record_key="CHG-1", plan=plan, text=_text, now=clock.now(), blocks=blocks
        )
        [row] = notifications.for_record(session, record_key="CHG-1")
        assert json.loads(row.blocks) == [
            {"type": "section", "text": "start-1h for U1 | start-1h 10:00"}
        ]
        # Without a blocks builder, the row is text only.
        reminders.sync(session, record_key="CHG-2", plan=plan, text=_text, now=clock.now())
        [plain] = notifications.for_record(session, record_key="CHG-2")
        assert plain.blocks is None


def _raw(database, key="CHG-1"):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return {
            row.recipient: (row.status, row.attempts, row.next_attempt_at, row.due_at)
            for row in notifications.for_record(session, record_key=key, kind="reminder")
        }


def test_a_recipient_taken_off_and_put_back_is_pending_again_as_first_queued(database, clock):
    start = clock.now() + timedelta(days=1)
    both = [Planned("start-1h", start, "U1"), Planned("start-1h", start, "U2")]
    _sync(database, clock, both)
    _sync(database, clock, both, key="CHG-2")
    # U2 is taken off both changes' plans: cancelled.
    _sync(database, clock, both[:1])
    _sync(database, clock, both[:1], key="CHG-2")
    assert _raw(database)["U2"][0] == "cancelled"
    # As if it had been tried before it was cancelled: the revival starts it afresh.
    with database.session() as session:
        for row in notifications.for_record(session, record_key="CHG-1", kind="reminder"):
            row.attempts = 2
            row.next_attempt_at = start + timedelta(hours=5)
            session.add(row)
    # Put back on CHG-1 only: nothing new is queued, the cancelled row is pending again.
    assert _sync(database, clock, both) == []
    after = _raw(database)
    assert after["U2"] == ("pending", 0, start, start)
    # The row that was never cancelled is not touched.
    assert after["U1"] == ("pending", 2, start + timedelta(hours=5), start)
    # CHG-2's cancelled reminder for U2 stays cancelled.
    assert _raw(database, key="CHG-2")["U2"][0] == "cancelled"
    assert len(_rows(database)) == 2


def test_a_plan_that_adds_after_a_known_reminder_queues_the_new_one(database, clock):
    start = clock.now() + timedelta(days=1)
    first = Planned("start-1d", start, "U1")
    _sync(database, clock, [first])
    later = Planned("start-1h", start + timedelta(hours=1), "U1")
    assert _sync(database, clock, [first, later]) == ["start-1h@20261128T110000Z"]
    assert [(r[1], r[3]) for r in _rows(database)] == [
        ("start-1d@20261128T100000Z", "pending"),
        ("start-1h@20261128T110000Z", "pending"),
    ]


def test_many_records_in_one_call_each_get_their_own_plan(database, clock):
    start = clock.now() + timedelta(days=1)
    with database.session() as session:
        added = reminders.sync_many(
            session,
            plans={
                "CHG-1": [Planned("start-1h", start, "U1")],
                "CHG-2": [Planned("start-1d", start, "U2"), Planned("start-1h", start, "U2")],
                "CHG-3": [],
            },
            text=lambda key, planned: f"{key} {planned.stage}",
            now=clock.now(),
        )
    assert added == [
        ("CHG-1", "start-1h@20261128T100000Z"),
        ("CHG-2", "start-1d@20261128T100000Z"),
        ("CHG-2", "start-1h@20261128T100000Z"),
    ]
    assert [r[4] for r in _rows(database, key="CHG-2")] == ["CHG-2 start-1d", "CHG-2 start-1h"]
    assert _rows(database, key="CHG-3") == []
