"""The outbox's edges: the wake-up each write notes, what `next_wake_at` looks at, handing a
claimed row back, lateness that sticks, Slack's Retry-After at its boundaries, cancelling by
a stage prefix taken literally, and a claim that returns rows as they now are."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, StatementError

from models.page import Page
from services import notifications
from services.notifications import WAKE_AT_INFO


def _schedule(session, clock, stage: str, *, minutes: int = 0, key: str = "INC-1", **extra):  # type: ignore[no-untyped-def]
    return notifications.schedule(
        session,
        record_key=key,
        kind=extra.pop("kind", "sla"),
        stage=stage,
        recipient=extra.pop("recipient", "U1"),
        due_at=clock.now() + timedelta(minutes=minutes),
        text=f"{stage} of {key}",
        **extra,
    )


def _rows(database, key: str = "INC-1"):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return {r.stage: r for r in notifications.for_record(session, record_key=key)}


def _claim(database, clock) -> list[int]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return [row.id for row in notifications.claim_due(session, now=clock.now())]


# ---- the wake-up -------------------------------------------------------------------------


def test_every_write_that_makes_something_due_notes_the_earliest_instant(database, clock):
    now = clock.now()
    with database.session() as session:
        assert notifications.schedule_many(session, []) == 0
        assert notifications.schedule_new(session, []) == set()
        assert WAKE_AT_INFO not in session.info
        _schedule(session, clock, "a", minutes=10)
        assert session.info[WAKE_AT_INFO] == now + timedelta(minutes=10)
        _schedule(session, clock, "b", minutes=20)  # later: the earlier one stands
        assert session.info[WAKE_AT_INFO] == now + timedelta(minutes=10)
        many = [
            notifications.row(
                record_key="INC-2", kind="sla", stage=s, recipient="U1", due_at=now + d, text=s
            )
            for s, d in (("c", timedelta(minutes=7)), ("d", timedelta(minutes=30)))
        ]
        assert notifications.schedule_many(session, many) == 2
        assert session.info[WAKE_AT_INFO] == now + timedelta(minutes=7)
        newer = [{**many[0], "record_key": "INC-3", "next_attempt_at": now + timedelta(minutes=3)}]
        assert notifications.schedule_new(session, newer) == {("INC-3", "sla", "c", "U1")}
        assert session.info[WAKE_AT_INFO] == now + timedelta(minutes=3)
    clock.advance(minutes=10)
    claimed = _claim(database, clock)
    assert len(claimed) == 3
    with database.session() as session:
        notifications.defer(session, until={claimed[0]: clock.now() + timedelta(seconds=4)})
        assert session.info[WAKE_AT_INFO] == clock.now() + timedelta(seconds=4)
    with database.session() as session:
        retry = notifications.mark_failed(session, id=claimed[1], now=clock.now(), error="down")
        assert retry == clock.now() + timedelta(seconds=30)
        assert session.info[WAKE_AT_INFO] == retry


def test_the_next_wake_up_is_the_earliest_thing_still_to_do(database, clock):
    now = clock.now()
    with database.session() as session:
        assert notifications.next_wake_at(session) is None
        _schedule(session, clock, "sent-long-ago", minutes=1)
        _schedule(session, clock, "pending", minutes=9)
    clock.advance(minutes=1)
    (first,) = _claim(database, clock)
    with database.session() as session:
        notifications.mark_sent(session, id=first, now=clock.now())
    with database.session() as session:
        assert notifications.next_wake_at(session) == now + timedelta(minutes=9)
        page = dict(record_key="INC-1", team="platform", level=1, recipient="U1", paged_at=now)
        session.add(
            Page(
                **page,
                ack_due_at=now + timedelta(minutes=2),
                acknowledged_at=now,
                acknowledged_by="U1",
            )
        )
        session.add(Page(**{**page, "record_key": "INC-2"}, ack_due_at=now + timedelta(minutes=5)))
    with database.session() as session:
        assert notifications.next_wake_at(session) == now + timedelta(minutes=5)


def test_a_batch_keeps_every_value_as_given_and_a_repeat_adds_nothing(database, clock):
    """schedule_many sends PostgreSQL the rows as one JSON parameter: every type comes back
    as it went in (microseconds, None, a thread, late, blocks, text that looks like JSON)."""
    due = clock.now().replace(microsecond=123456) + timedelta(minutes=5)
    tricky = 'quote " backslash \\ newline \n {"json": [1]} émoji 🙂'
    rows = [
        notifications.row(
            record_key="INC-9",
            kind="sla",
            stage="response:50",
            recipient="C1",
            due_at=due,
            text=tricky,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": tricky}}],
            thread=("C1", "1700000000.000100"),
            late=True,
            now=clock.now(),
        ),
        notifications.row(
            record_key="INC-9",
            kind="sla",
            stage="response:50",
            recipient="U1",
            due_at=due,
            text="plain",
        ),
    ]
    with database.session() as session:
        assert notifications.schedule_many(session, rows) == 2
    with database.session() as session:
        assert notifications.schedule_many(session, rows) == 0  # queued before: skipped
    with database.session() as session:
        stored = {r.recipient: r for r in notifications.for_record(session, record_key="INC-9")}
    first, second = stored["C1"], stored["U1"]
    assert (first.text, first.late, first.due_at, first.next_attempt_at) == (tricky, True, due, due)
    assert (first.thread_channel, first.thread_ts) == ("C1", "1700000000.000100")
    assert json.loads(first.blocks)[0]["text"]["text"] == tricky
    assert first.created_at == clock.now() and second.created_at == due
    assert (second.text, second.late, second.blocks, second.thread_ts) == (
        "plain",
        False,
        None,
        None,
    )
    assert (first.status, first.attempts, first.sent_at, first.last_error) == (
        "pending",
        0,
        None,
        None,
    )


def test_a_value_too_long_for_its_column_is_refused_not_cut(database, clock):
    if database.dialect != "postgresql":
        pytest.skip("SQLite does not enforce a column's length")
    row = notifications.row(
        record_key="INC-1", kind="sla", stage="s", recipient="U" * 81, due_at=clock.now(), text="t"
    )
    with pytest.raises(DBAPIError, match="too long"), database.session() as session:
        notifications.schedule_many(session, [row])
    with database.session() as session:
        assert notifications.for_record(session, record_key="INC-1") == []


def test_a_naive_time_in_a_batch_is_refused_and_nothing_is_queued(database, clock):
    naive = clock.now().replace(tzinfo=None)
    row = notifications.row(
        record_key="INC-1", kind="sla", stage="s", recipient="U1", due_at=naive, text="t"
    )
    with pytest.raises((ValueError, StatementError), match="naive datetimes are not stored"):
        with database.session() as session:
            notifications.schedule_many(session, [row])
    with database.session() as session:
        assert notifications.for_record(session, record_key="INC-1") == []


# ---- handing back, finishing -------------------------------------------------------------


def test_a_row_handed_back_unsent_counts_no_attempt_and_a_cancelled_one_stays_cancelled(
    database, clock
):
    with database.session() as session:
        _schedule(session, clock, "a")
        _schedule(session, clock, "b")
    first, second = _claim(database, clock)
    assert {r.attempts for r in _rows(database).values()} == {1}
    with database.session() as session:
        session.execute(text(f"UPDATE notification SET status = 'cancelled' WHERE id = {second}"))
    later = clock.now() + timedelta(seconds=3)
    with database.session() as session:
        notifications.defer(session, until={first: later, second: later})
    rows = _rows(database)
    assert (rows["a"].status, rows["a"].attempts, rows["a"].next_attempt_at) == (
        "pending",
        0,
        later,
    )
    assert (rows["b"].status, rows["b"].attempts) == ("cancelled", 1)


def test_failing_one_row_leaves_the_others_as_they_are(database, clock):
    with database.session() as session:
        _schedule(session, clock, "a")
        _schedule(session, clock, "b")
    first, _ = _claim(database, clock)
    with database.session() as session:
        notifications.mark_failed(session, id=first, now=clock.now(), error="channel_not_found")
    rows = _rows(database)
    assert (rows["a"].status, rows["a"].last_error) == ("pending", "channel_not_found")
    assert (rows["b"].status, rows["b"].last_error) == ("sending", None)


def test_late_is_judged_with_the_grace_given_and_stays_once_set(database, clock):
    with database.session() as session:
        _schedule(session, clock, "grace")
        _schedule(session, clock, "default")
        _schedule(session, clock, "already-late", late=True)
    clock.advance(seconds=20)
    ids = _claim(database, clock)
    by_stage = {row.stage: row.id for row in _rows(database).values()}
    assert sorted(ids) == sorted(by_stage.values())
    with database.session() as session:
        notifications.mark_sent(
            session, id=by_stage["grace"], now=clock.now(), late_grace=timedelta(minutes=1)
        )
        notifications.mark_sent(session, id=by_stage["default"], now=clock.now())
        notifications.mark_sent(
            session, id=by_stage["already-late"], now=clock.now(), late_grace=timedelta(hours=1)
        )
    rows = _rows(database)
    assert (rows["grace"].late, rows["default"].late, rows["already-late"].late) == (
        False,
        True,
        True,
    )


def test_retry_after_on_a_rate_limit_is_the_whole_wait_when_it_says_anything(database, clock):
    waits = {}
    for retry_after, stage in ((1, "one"), (5, "five"), (0, "zero")):
        with database.session() as session:
            _schedule(session, clock, stage)
        (claimed,) = _claim(database, clock)
        with database.session() as session:
            at = notifications.mark_failed(
                session,
                id=claimed,
                now=clock.now(),
                error="ratelimited",
                retry_after=retry_after,
                rate_limited=True,
            )
        waits[stage] = at - clock.now()
    # Retry-After 0 says nothing: the usual back-off applies.
    assert waits == {
        "one": timedelta(seconds=1),
        "five": timedelta(seconds=5),
        "zero": timedelta(seconds=30),
    }


def test_a_claim_returns_rows_as_they_are_now_even_when_the_session_held_them(database, clock):
    with database.session() as session:
        _schedule(session, clock, "a")
    with database.session() as session:
        (held,) = notifications.for_record(session, record_key="INC-1")
        assert (held.status, held.attempts) == ("pending", 0)
        (claimed,) = notifications.claim_due(session, now=clock.now())
        assert claimed is held
        assert (claimed.status, claimed.attempts) == ("sending", 1)
        assert claimed.next_attempt_at == clock.now() + timedelta(minutes=2)


def test_a_thread_reply_keeps_its_thread(database, clock):
    with database.session() as session:
        _schedule(session, clock, "a", recipient="C0INCIDENTS", thread=("C0INCIDENTS", "1700.01"))
        _schedule(session, clock, "b", recipient="C0INCIDENTS")
    rows = _rows(database)
    assert (rows["a"].thread_channel, rows["a"].thread_ts) == ("C0INCIDENTS", "1700.01")
    assert (rows["b"].thread_channel, rows["b"].thread_ts) == (None, None)


# ---- cancelling by prefix ----------------------------------------------------------------


def test_cancelling_by_prefix_takes_the_prefix_literally_and_only_for_its_record(database, clock):
    stages = [
        "response:50",
        "responseX50",
        "resp%:1",
        "respQ:1",
        "a\\b:1",
        "aXb:1",
        "rate_1",
        "rateX1",
    ]
    with database.session() as session:
        for stage in stages:
            _schedule(session, clock, stage)
        _schedule(session, clock, "response:75", key="INC-2")
        _schedule(session, clock, "response:90", key="INC-1", kind="reminder")
        _schedule(session, clock, "response:100")
    (first, *_) = _claim(database, clock)
    with database.session() as session:
        notifications.mark_sent(session, id=first, now=clock.now())
        session.execute(text("UPDATE notification SET status = 'pending' WHERE status = 'sending'"))
    sent = next(r.stage for r in _rows(database).values() if r.status == "sent")
    with database.session() as session:
        assert notifications.cancel_many(session, kind="sla", prefixes=[]) == 0
        cancelled = notifications.cancel_many(
            session,
            kind="sla",
            prefixes=[
                ("INC-1", "response:"),
                ("INC-1", "resp%"),
                ("INC-1", "a\\b"),
                ("INC-1", "rate_"),
                ("INC-2", "nothing:"),
            ],
        )
    rows = _rows(database)
    expected = {"response:50", "response:100", "resp%:1", "a\\b:1", "rate_1"} - {sent}
    assert cancelled == len(expected)
    assert {s for s, r in rows.items() if r.status == "cancelled"} == expected
    assert rows[sent].status == "sent"
    assert _rows(database, "INC-2")["response:75"].status == "pending"
    with database.session() as session:
        (reminder,) = notifications.for_record(session, record_key="INC-1", kind="reminder")
        assert reminder.status == "pending"
