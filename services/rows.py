"""Two steps on one row that every kind of record takes the same way.

- `add_once`: store a row that a unique key allows only once (an approver's decision, an SLA
  timer, a budget alert, a page of the ladder). Two clicks, two replicas' sweeps or a retry may
  race to store it; the database's unique key decides, and the loser is told so instead of
  having its whole transaction fail.
- `by_id`: read one row by its id, optionally locked and read afresh, so that of two clicks on
  the same button the second waits for the first and sees what it left.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.errors import NotFound

Row = TypeVar("Row")


def add_once(session: Session, row: Any) -> bool:
    """Add `row` and flush it inside a savepoint. False when a unique key refused it (such a
    row exists already): only the savepoint is rolled back, the row is not in the session and
    the caller's transaction goes on."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def by_id(
    session: Session, model: type[Row], row_id: int, *, missing: str, for_update: bool
) -> Row:
    """The `model` row with this id; NotFound(`missing`) when there is none. With `for_update`
    (every caller says whether it locks) the row is locked until the transaction ends
    (PostgreSQL; SQLite serialises writers anyway) and read afresh, not taken from what the
    session already holds."""
    table: Any = model
    statement = select(table).where(col(table.id) == row_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    found = session.exec(statement).first()
    if found is None:
        raise NotFound(missing)
    return found
