"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL via TEST_DATABASE_URL),
an injected clock, and the policy."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.db import Database, make_engine, upgrade_database
from services.clock import ManualClock

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def _is_postgres() -> bool:
    return TEST_DATABASE_URL.startswith(("postgres", "postgresql"))


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per run: a SQLite template file that each test copies, or the PostgreSQL
    database that each test truncates."""
    if _is_postgres():
        engine = make_engine(TEST_DATABASE_URL)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade_database(engine)
        engine.dispose()
        yield TEST_DATABASE_URL
        return
    template = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{template}")
    upgrade_database(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    yield str(template)


@pytest.fixture
def database(_migrated_template: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of the kind under test."""
    if _is_postgres():
        db = Database.from_url(_migrated_template)
        tables = [t.name for t in SQLModel.metadata.sorted_tables]
        with db.engine.begin() as connection:
            connection.execute(
                text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            )
        yield db
        db.dispose()
        return
    path = tmp_path / "servicedesk.db"
    shutil.copyfile(_migrated_template, path)
    db = Database.from_url(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """Friday 27 November 2026, 10:00 UTC, moved only by the test."""
    return ManualClock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
