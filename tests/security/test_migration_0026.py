"""Migration 0026 adds `major_incident.channel_redacted` (false for the major incidents already
there) and the `thread_post` table, and comes back out with the major incidents intact; on
SQLite, and on PostgreSQL when the tests run against it (a database of its own)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, create_engine, insert, inspect, text
from sqlalchemy.engine import make_url

from bot.db import make_engine
from tests.agreements.test_migration import _to

WHEN = datetime(2026, 11, 27, 10, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip("PostgreSQL runs only with TEST_DATABASE_URL")
    url = make_url(base)
    name = f"{url.database}_mig0026_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_0026_keeps_major_incidents_and_comes_back_out(empty_url: str) -> None:
    engine = make_engine(empty_url)
    _to(engine, "0025")
    major = Table("major_incident", MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(
            insert(major).values(
                incident_key="INC-7",
                declared_at=WHEN,
                declared_by="U1",
                reason="payments down",
                channel_id="C0MAJOR",
                channel_name="inc-7-payments-down",
            )
        )
    _to(engine, "0026")
    with engine.begin() as connection:
        row = connection.execute(
            text("SELECT incident_key, channel_name, channel_redacted FROM major_incident")
        ).one()
        assert (row[0], row[1], bool(row[2])) == ("INC-7", "inc-7-payments-down", False)
        posts = Table("thread_post", MetaData(), autoload_with=connection)
        connection.execute(
            insert(posts).values(
                record_key="INC-7", channel_id="C0INC", ts="1.2", text="logged", posted_at=WHEN
            )
        )
        kept = connection.execute(text("SELECT record_key, redacted FROM thread_post")).one()
        assert (kept[0], bool(kept[1])) == ("INC-7", False)
    _to(engine, "0025", down=True)
    assert "thread_post" not in inspect(engine).get_table_names()
    assert "channel_redacted" not in {
        c["name"] for c in inspect(engine).get_columns("major_incident")
    }
    with engine.connect() as connection:
        assert connection.execute(text("SELECT reason FROM major_incident")).scalar_one() == (
            "payments down"
        )
    engine.dispose()
