"""Migration 0013 keeps existing incidents and requests (agreement NULL) and comes back out."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from bot.db import alembic_config, make_engine


def _to(engine, revision: str, *, down: bool = False) -> None:  # type: ignore[no-untyped-def]
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_upgrade_keeps_incidents_and_downgrade_removes_only_agreements(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _to(engine, "0012")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO incident (title, description, impact, urgency, priority, "
                "priority_overridden, status, reporter, escalation_level, created_at, updated_at) "
                "VALUES ('Old incident', '', 'high', 'high', 1, 0, 'new', 'U1', 0, "
                "'2026-01-01 10:00:00', '2026-01-01 10:00:00')"
            )
        )
    _to(engine, "0013")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT title, agreement FROM incident")).one()
    assert tuple(row) == ("Old incident", None)
    assert {"agreement", "agreement_version", "agreement_review"} <= set(
        inspect(engine).get_table_names()
    )
    _to(engine, "0012", down=True)
    tables = set(inspect(engine).get_table_names())
    assert "agreement" not in tables and "incident" in tables
    assert "agreement" not in {c["name"] for c in inspect(engine).get_columns("incident")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT title FROM incident")).scalar_one() == "Old incident"
    engine.dispose()


def test_0016_keeps_timers_and_takes_agreement_clock_names(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _to(engine, "0015")
    insert = (
        "INSERT INTO sla_timer (record_key, target, started_at, target_seconds, calendar, "
        "next_stage, updated_at) VALUES (:key, 'response', '2026-01-01 10:00:00', 60, :clock, "
        "50, '2026-01-01 10:00:00')"
    )
    with engine.begin() as connection:
        connection.execute(text(insert), {"key": "INC-1", "clock": "business"})
    _to(engine, "0016")
    with engine.begin() as connection:
        connection.execute(text(insert), {"key": "INC-2", "clock": "business:" + "G" * 60})
        rows = connection.execute(text("SELECT record_key, calendar FROM sla_timer")).all()
    assert [tuple(r) for r in rows] == [("INC-1", "business"), ("INC-2", "business:" + "G" * 60)]
    _to(engine, "0015", down=True)
    with engine.connect() as connection:
        clocks = connection.execute(text("SELECT calendar FROM sla_timer ORDER BY id")).scalars()
        assert list(clocks) == ["business", "business"]
    engine.dispose()
