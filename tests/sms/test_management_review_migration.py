"""Migration 0024 (management reviews, their actions, effort entries) upgrades a database that
holds records and comes back out, leaving them as they were."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from bot.db import make_engine
from tests.agreements.test_migration import _to

NEW = {"management_review", "management_review_action", "effort_entry"}
INCIDENT = (
    "INSERT INTO incident (title, description, impact, urgency, priority, priority_overridden, "
    "status, reporter, escalation_level, is_major, restricted, created_at, updated_at) "
    "VALUES ('Old incident', '', 'high', 'high', 1, 0, 'resolved', 'U1', 0, 0, 0, "
    "'2026-01-01 10:00:00', '2026-01-01 10:00:00')"
)


def test_migration_0024_keeps_records_and_comes_back_out(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _to(engine, "0023")
    with engine.begin() as connection:
        connection.execute(text(INCIDENT))
    _to(engine, "0024")
    assert NEW <= set(inspect(engine).get_table_names())
    indexes = {i["name"] for i in inspect(engine).get_indexes("effort_entry")}
    assert {"ix_effort_entry_record_key", "ix_effort_entry_logged_at"} <= indexes
    with engine.begin() as connection:
        assert connection.execute(text("SELECT title FROM incident")).scalar_one() == "Old incident"
        connection.execute(
            text(
                "INSERT INTO effort_entry (record_key, minutes, rate_cents, note, logged_by, "
                "logged_at) VALUES ('INC-1', 45, 8500, 'triage', 'U1', '2026-01-01 11:00:00')"
            )
        )
    _to(engine, "0023", down=True)
    assert not NEW & set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        row = connection.execute(text("SELECT title, status FROM incident")).one()
    assert tuple(row) == ("Old incident", "resolved")
    engine.dispose()
