"""The work after a new incident's ack runs beside the next requests: its write transactions
(SQLite's write lock) hold only the claim, the page and the message's ts; the rendering and
the trend check read in read-only ones; the notifier is woken only when a page was queued."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from bot.db import READ_ONLY
from handlers.incidents.messages import IncidentMessages
from models.incident import IncidentInput, Level
from services import incidents

# Tables only rendering reads: never touched while the write lock is held.
RENDER_ONLY = ("sla_timer", "sla_pause", "record_link", "problem", "trend_proposal")


@contextmanager
def _statements(ctx) -> Iterator[list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    """(transaction kind, statement) of everything sent while the block runs."""
    seen: list[tuple[str, str]] = []

    def spy(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]  # noqa: ARG001,E501
        mode = "read" if conn.get_execution_options().get(READ_ONLY) else "write"
        seen.append((mode, statement))

    event.listen(ctx.db.engine, "before_cursor_execute", spy)
    try:
        yield seen
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", spy)


def _incident(ctx, impact: Level, urgency: Level) -> str:  # type: ignore[no-untyped-def]
    data = IncidentInput(title="Payments down", impact=impact, urgency=urgency, service="payments")
    with ctx.db.session() as session:
        incident, _ = incidents.create(
            session, data=data, reporter="U0REPORTER", now=ctx.clock.now(), policy=ctx.policy
        )
        return incident.key


def test_announcing_without_a_page_takes_the_write_lock_only_for_the_claim(ctx, fake_slack):
    key = _incident(ctx, Level.MEDIUM, Level.LOW)  # P4: nobody is paged
    with _statements(ctx) as seen:
        IncidentMessages(ctx).announce(key)
    writes = [statement for mode, statement in seen if mode == "write"]
    assert writes, "the claim is a write"
    assert not [s for s in writes if any(table in s for table in RENDER_ONLY)], writes
    # No page queued: the outbox is not claimed (the notifier was not run).
    assert not [s for s in writes if s.startswith("UPDATE notification")], writes
    reads = [statement for mode, statement in seen if mode == "read"]
    assert any("FROM problem" in s for s in reads), reads  # the known-error lookup
    # And the announcement itself is whole: the message, its thread, the reporter's DM.
    channels = [c.args["channel"] for c in fake_slack.calls("chat.postMessage")]
    assert channels.count("C0INCIDENTS") == 2 and "U0REPORTER" in channels
    with ctx.db.session() as session:
        assert incidents.get(session, key=key).message_ts


def test_a_page_queued_by_the_announcement_is_sent_at_once(ctx, fake_slack):
    key = _incident(ctx, Level.HIGH, Level.HIGH)  # P1 on the platform team: its on-call is paged
    with _statements(ctx) as seen:
        IncidentMessages(ctx).announce(key)
    writes = [statement for mode, statement in seen if mode == "write"]
    assert [s for s in writes if s.startswith("UPDATE notification")]  # the outbox claimed
    paged = [c for c in fake_slack.calls("chat.postMessage") if key in c.args.get("text", "")]
    assert any(c.args["channel"] != "C0INCIDENTS" for c in paged), paged
