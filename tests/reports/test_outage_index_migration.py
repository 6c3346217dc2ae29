"""Migration 0025 adds the partial outage indexes over existing incidents and comes back out."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from bot.db import alembic_config, make_engine

INDEXES = {"ix_incident_outage_logged", "ix_incident_outage_open"}


def _to(engine, revision: str, *, down: bool = False) -> None:  # type: ignore[no-untyped-def]
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _indexes(engine) -> set[str]:  # type: ignore[no-untyped-def]
    return {i["name"] for i in inspect(engine).get_indexes("incident")}


def test_0025_indexes_high_impact_incidents_kept_and_removed_on_downgrade(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _to(engine, "0020")
    with engine.begin() as connection:
        for title, impact in (("Down", "high"), ("Slow", "low")):
            connection.execute(
                text(
                    "INSERT INTO incident (title, description, impact, urgency, priority, "
                    "priority_overridden, status, service, reporter, escalation_level, "
                    "created_at, updated_at) VALUES (:title, '', :impact, 'high', 1, 0, 'new', "
                    "'Website', 'U1', 0, '2026-01-01 10:00:00', '2026-01-01 10:00:00')"
                ),
                {"title": title, "impact": impact},
            )
    _to(engine, "0025")
    assert INDEXES <= _indexes(engine)
    with engine.connect() as connection:
        # A read first: a pooled connection opened before the migration still holds the old
        # schema, which SQLite reloads when a statement reads, not for an EXPLAIN QUERY PLAN.
        titles = connection.execute(text("SELECT title FROM incident ORDER BY id")).scalars()
        assert list(titles) == ["Down", "Slow"]
        plan = " ".join(
            str(row[-1])
            for row in connection.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT service, created_at, resolved_at FROM incident "
                    "WHERE impact = 'high' AND status != 'cancelled' AND service IN ('Website') "
                    "AND created_at >= '2026-01-01' AND created_at < '2026-02-01'"
                )
            )
        )
    assert "COVERING INDEX ix_incident_outage_logged" in plan
    _to(engine, "0020", down=True)
    assert not INDEXES & _indexes(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM incident")).scalar_one() == 2
    engine.dispose()
