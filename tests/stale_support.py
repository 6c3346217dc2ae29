"""Changing a record's row as another transaction would, behind the session's back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col


def change_behind(session: Session, model: Any, number: int, **values: Any) -> None:
    """UPDATE the row without touching the object the session holds for it: a read that does
    not go back to the database keeps seeing the old values."""
    session.execute(
        update(model)
        .where(col(model.id) == number)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
