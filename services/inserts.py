"""Writing a new record from a form in one statement, whatever Slack does with the form.

A form can arrive twice (Slack retries, a double click) or race another process with the same
submission id. INSERT … ON CONFLICT (submission_id) DO NOTHING RETURNING answers both without
a lookup before it and without a savepoint around it: it returns the new row, or nothing when
the submission was recorded already.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel, select

from services import audit

Model = TypeVar("Model", bound=SQLModel)


def insert_new(
    session: Session, draft: Model, *, unique: str = "submission_id", audited: bool = False
) -> Model | None:
    """Insert `draft` (a model instance not yet added) and return it, now persistent in the
    session; None when a row with the same `unique` value exists (then nothing changed).

    `audited`: the caller records the creation in the audit trail next. The same statement
    then reads the chain's tail (on PostgreSQL after taking the audit append lock; only when it
    inserted), which saves the audit row a round trip."""
    model: Any = type(draft)
    table: Any = model.__table__
    dialect = session.get_bind().dialect.name
    statement = _statements.get((model, dialect, unique, audited))
    if statement is None:
        # Built once and reused with new parameters: building `insert(...).values(**row)`
        # afresh for every form costs more than the database round trip. A Core statement
        # returning only the id: the draft already holds every other value.
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        returned = [table.c.id, *([audit.lock_and_tail(dialect)] if audited else [])]
        statement = (
            insert(table).on_conflict_do_nothing(index_elements=[unique]).returning(*returned)
        )
        _statements[(model, dialect, unique, audited)] = statement
    values = {c.name: getattr(draft, c.name) for c in table.columns if c.name != "id"}
    # What the session holds goes first, as the ORM's own statements would flush it (a row
    # this one refers to). Audit rows are written as they are appended, so the tail this
    # statement reads is the newest row, this transaction's own included.
    session.flush()
    row = session.connection().execute(statement, values).first()
    if row is None:
        return None
    new_id = row[0]
    if audited:
        audit.took_tail(session, row[1])
    # The row is the draft plus its id: attach the draft as that row (no read back), so later
    # changes to it are written as updates by the session, as for a row it loaded.
    draft.id = new_id  # type: ignore[attr-defined]
    make_transient_to_detached(draft)
    session.add(draft)
    return draft


_statements: dict[tuple[Any, str, str, bool], Any] = {}


def insert_submitted(session: Session, draft: Model) -> tuple[Model, bool]:
    """Store a record made from a form: (the record, True); a second delivery of the same form
    (same `submission_id`) gets (the first one's record, False), written once. The caller
    audits the creation (see `insert_new`'s `audited`)."""
    found = insert_new(session, draft, audited=True)
    if found is not None:
        return found, True
    model: Any = type(draft)
    existing = session.exec(select(model).where(model.submission_id == draft.submission_id)).first()
    if existing is None:
        raise RuntimeError(f"{model.__name__} insert returned nothing and no duplicate was found")
    return existing, False


def json_rows(rows: list[dict[str, Any]]) -> str:
    """Rows as one JSON array, for a PostgreSQL statement that reads them with
    `json_to_recordset` (one parameter however many rows). Times must be aware, as the
    UTCDateTime columns they bypass insist."""
    return json.dumps(rows, default=_json_value)


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a value for a JSON row")
