"""Fixtures for the SLA, paging and notifier tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot.db import make_engine, upgrade_database
from tests.conftest import TEST_DATABASE_URL, _is_postgres


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Overrides the shared fixture only to checkpoint SQLite's WAL outside a transaction: the
    engine's BEGIN IMMEDIATE hook makes `PRAGMA wal_checkpoint` inside one fail ("database
    table is locked"), so the shared version cannot build the template."""
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
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    engine.dispose()
    yield str(template)
