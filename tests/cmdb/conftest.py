"""The shared template fixture checkpoints the WAL inside the BEGIN IMMEDIATE that every
connection opens, which this SQLite refuses ("database table is locked"); this copy lets the
engine's own close checkpoint instead. Remove once tests/conftest.py is fixed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot.db import make_engine, upgrade_database
from tests.conftest import TEST_DATABASE_URL, _is_postgres


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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
    engine.dispose()
    yield str(template)
