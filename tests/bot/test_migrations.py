"""An existing database upgrades with its data intact; the schema matches the models."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.db import alembic_config, make_engine, upgrade_database


def test_upgrade_from_first_release_keeps_data(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO incident (title, description, impact, urgency, priority, "
                "priority_overridden, status, reporter, escalation_level, created_at, updated_at) "
                "VALUES ('Old incident', '', 'high', 'high', 1, 0, 'new', 'U1', 0, "
                "'2026-01-01 10:00:00', '2026-01-01 10:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO audit_entry (record_key, actor, at, action) "
                "VALUES ('INC-1', 'U1', '2026-01-01 10:00:00', 'created')"
            )
        )
    upgrade_database(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT title FROM incident")).scalar_one() == "Old incident"
        assert connection.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == 1
    engine.dispose()


def test_migrations_create_exactly_the_models(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade_database(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    # The text_pattern_ops index for prefix search exists on PostgreSQL only.
    differences = [
        d
        for d in differences
        if not str(d[1]).endswith("_pattern") and "ix_config_item_name_lower_pattern" not in str(d)
    ]
    assert differences == []
