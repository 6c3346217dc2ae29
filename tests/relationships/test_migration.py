"""Migration 0017 adds the survey, complaint, compliment and supplier_wait tables to a
database with data, and comes back out leaving that data."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from bot.db import make_engine
from tests.agreements.test_migration import _to

NEW = {"survey", "complaint", "compliment", "supplier_wait", "relationship_review", "review_action"}


def test_upgrade_keeps_incidents_and_downgrade_removes_only_the_new_tables(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _to(engine, "0015")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO incident (title, description, impact, urgency, priority, "
                "priority_overridden, status, reporter, escalation_level, created_at, updated_at, "
                "resolved_at) VALUES ('Old incident', '', 'high', 'high', 1, 0, 'resolved', 'U1', "
                "0, '2026-01-01 10:00:00', '2026-01-01 10:00:00', '2026-01-01 11:00:00')"
            )
        )
    _to(engine, "0017")
    assert NEW <= set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        assert connection.execute(text("SELECT title FROM incident")).scalar_one() == "Old incident"
        connection.execute(
            text(
                "INSERT INTO survey (record_key, recipient, status, created_at) "
                "VALUES ('INC-1', 'U1', 'sent', '2026-01-01 12:00:00')"
            )
        )
    _to(engine, "0015", down=True)
    assert not NEW & set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT title FROM incident")).scalar_one() == "Old incident"
    engine.dispose()
