"""Changing a record's row directly, as another transaction (or an old version) would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from bot.db import Database


def change_behind(session: Session, model: Any, number: int, **values: Any) -> None:
    """UPDATE the row without touching the object the session holds for it: a read that does
    not go back to the database keeps seeing the old values."""
    session.execute(
        update(model)
        .where(col(model.id) == number)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def set_row(database: Database, model: Any, number: int, **values: Any) -> None:
    """The same UPDATE in a transaction of its own, committed."""
    with database.session() as session:
        change_behind(session, model, number, **values)
