"""Migration 0028 drops three indexes that repeat the leading column of a wider one: the rows
stay, the lookups they served still go through an index (the wider one), and downgrading
creates them again; on SQLite, and on PostgreSQL when the tests run against it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from bot.db import make_engine
from tests.agreements.test_migration import _to
from tests.security.test_migration_0026 import empty_url  # noqa: F401 - the fixture

# As text: raw SQL on SQLite would otherwise lean on the sqlite3 module's datetime adapter,
# deprecated since Python 3.12; PostgreSQL reads the same text as a timestamptz.
AT = datetime(2026, 11, 29, 10, tzinfo=UTC).isoformat(sep=" ")
DROPPED = {
    "notification": {"ix_notification_record_key", "ix_notification_status"},
    "sla_timer": {"ix_sla_timer_record_key"},
}
LOOKUPS = [
    "SELECT id FROM notification WHERE record_key = 'INC-1'",
    "SELECT id FROM notification WHERE status = 'pending'",
    "SELECT id FROM sla_timer WHERE record_key = 'INC-1'",
]


def _indexes(engine, table: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {index["name"] for index in inspect(engine).get_indexes(table)}


def _plan(connection, query: str) -> str:  # type: ignore[no-untyped-def]
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: ask for any
        rows = connection.execute(text(f"EXPLAIN {query}")).all()
        return " ".join(row[0] for row in rows)
    rows = connection.execute(text(f"EXPLAIN QUERY PLAN {query}")).all()
    return " ".join(str(row[-1]) for row in rows)


def test_0028_drops_the_repeated_indexes_keeps_rows_and_lookups(empty_url: str) -> None:  # noqa: F811
    engine = make_engine(empty_url)
    _to(engine, "0027")
    for table, names in DROPPED.items():
        assert names <= _indexes(engine, table)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO notification (record_key, kind, stage, recipient, due_at, status, "
                "next_attempt_at, attempts, late, text, created_at) VALUES ('INC-1', 'sla', "
                "'response:50', 'U1', :at, 'pending', :at, 0, false, 'half way', :at)"
            ),
            {"at": AT},
        )
        connection.execute(
            text(
                "INSERT INTO sla_timer (record_key, target, started_at, target_seconds, calendar, "
                "next_stage, updated_at) VALUES ('INC-1', 'response', :at, 3600, '24x7', 50, :at)"
            ),
            {"at": AT},
        )
    _to(engine, "0028")
    for table, names in DROPPED.items():
        assert not names & _indexes(engine, table)
    for query in LOOKUPS:
        with engine.begin() as connection:
            plan = _plan(connection, query)
            assert "index" in plan.lower(), (query, plan)
            assert connection.execute(text(query)).all(), query
    _to(engine, "0027", down=True)
    for table, names in DROPPED.items():
        assert names <= _indexes(engine, table)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT text FROM notification")).scalar_one() == "half way"
    engine.dispose()
