"""Writing a new record from a form in one statement, whatever Slack does with the form.

A form can arrive twice (Slack retries, a double click) or race another process with the same
submission id. INSERT … ON CONFLICT (submission_id) DO NOTHING RETURNING answers both without
a lookup before it and without a savepoint around it: it returns the new row, or nothing when
the submission was recorded already.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel, select

Model = TypeVar("Model", bound=SQLModel)


def insert_new(session: Session, draft: Model, *, unique: str = "submission_id") -> Model | None:
    """Insert `draft` (a model instance not yet added) and return it, now persistent in the
    session; None when a row with the same `unique` value exists (then nothing changed)."""
    model: Any = type(draft)
    table: Any = model.__table__
    dialect = session.get_bind().dialect.name
    statement = _statements.get((model, dialect, unique))
    if statement is None:
        # Built once and reused with new parameters: building `insert(...).values(**row)`
        # afresh for every form costs more than the database round trip. A Core statement
        # returning only the id: the draft already holds every other value.
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(table).on_conflict_do_nothing(index_elements=[unique]).returning(table.c.id)
        )
        _statements[(model, dialect, unique)] = statement
    values = {c.name: getattr(draft, c.name) for c in table.columns if c.name != "id"}
    new_id = session.connection().execute(statement, values).scalar_one_or_none()
    if new_id is None:
        return None
    # The row is the draft plus its id: attach the draft as that row (no read back), so later
    # changes to it are written as updates by the session, as for a row it loaded.
    draft.id = new_id  # type: ignore[attr-defined]
    make_transient_to_detached(draft)
    session.add(draft)
    return draft


_statements: dict[tuple[Any, str, str], Any] = {}


def insert_submitted(session: Session, draft: Model) -> tuple[Model, bool]:
    """Store a record made from a form: (the record, True); a second delivery of the same form
    (same `submission_id`) gets (the first one's record, False), written once."""
    found = insert_new(session, draft)
    if found is not None:
        return found, True
    model: Any = type(draft)
    existing = session.exec(select(model).where(model.submission_id == draft.submission_id)).first()
    if existing is None:
        raise RuntimeError(f"{model.__name__} insert returned nothing and no duplicate was found")
    return existing, False
