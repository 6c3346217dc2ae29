"""Migration 0023 adds service_change and acceptance_result to a database holding changes, and
comes back out leaving the changes (a service change becomes a normal one)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from bot.db import make_engine
from tests.agreements.test_migration import _to

NEW = {"service_change", "acceptance_result"}
CHANGE = (
    "INSERT INTO change (title, description, type, risk, status, implementation_plan, "
    "backout_plan, test_plan, requester, created_at, updated_at, message_version, "
    "rendered_version) VALUES ('{title}', '', '{type}', 'low', 'new', '', 'Back out', '', 'U1', "
    "'2026-01-01 10:00:00', '2026-01-01 10:00:00', 0, 0)"
)


def test_upgrade_keeps_changes_and_downgrade_removes_only_the_new_tables(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _to(engine, "0020")
    with engine.begin() as connection:
        connection.execute(text(CHANGE.format(title="Old change", type="normal")))
    _to(engine, "0023")
    assert NEW <= set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        assert connection.execute(text("SELECT title FROM change")).scalar_one() == "Old change"
        connection.execute(text(CHANGE.format(title="New service: billing", type="service")))
        connection.execute(
            text(
                "INSERT INTO service_change (change_id, action, service, requirements, design, "
                "criteria, agreement, capacity, budget) VALUES (2, 'new', 'billing', 'r', 'd', "
                "'c1', '', '', '')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO acceptance_result (change_id, criterion, passed, note, recorded_by, "
                "recorded_at, submission_id) VALUES (2, 1, 1, '', 'U1', '2026-01-02 10:00:00', "
                "'V1')"
            )
        )
    _to(engine, "0020", down=True)
    assert not NEW & set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT title, type FROM change ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("Old change", "normal"),
        ("New service: billing", "normal"),
    ]
    engine.dispose()
