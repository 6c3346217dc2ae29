"""Support for the tests that hold a sweep to its shape: counting the SQL statements a piece
of work sends, and handing out empty databases of the kind under test (so the same scenario
can run once on the per-row reference and once on the set-based code)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.db import Database
from tests.conftest import empty_postgres


def captured(db: Database, work: Callable[[], object]) -> list[str]:
    """Every statement `work` sent to `db`, in order."""
    seen: list[str] = []

    def spy(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]  # noqa: ARG001,E501
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", spy)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", spy)
    return seen


def count_statements(db: Database, work: Callable[[], object], skip: str = "") -> int:
    """How many statements `work` sent to `db` (those containing `skip` left out)."""
    return len([s for s in captured(db, work) if not (skip and skip in s)])


@pytest.fixture
def fresh(database: Database, _migrated_template: str, tmp_path: Path) -> Iterator[Any]:
    """Hands out empty databases of the kind under test: PostgreSQL's is emptied again, SQLite's
    is a new copy of the template."""
    made: list[Database] = []

    def another() -> Database:
        if database.dialect == "postgresql":
            empty_postgres(database)
            return database
        path = tmp_path / f"copy{len(made)}.db"
        shutil.copyfile(_migrated_template, path)
        made.append(Database.from_url(f"sqlite:///{path}"))
        return made[-1]

    yield another
    for db in made:
        db.dispose()
