"""What the SMS registers raised from a form share (improvements, nonconformities): the title
as the form gives it, the entry stored once however often the form is delivered, and the
register's listing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from models.improvement import TITLE_MAX
from services.due_reminders import form_text
from services.errors import FieldError
from services.inserts import insert_submitted
from services.permissions import Actor
from services.records import RecordKind

LIST_LIMIT = 50


def form_title(value: str | None, *, missing: str) -> str:
    """The title on one line; `missing` is what the form says when there is none."""
    cleaned = " ".join((value or "").split())
    if not cleaned:
        raise FieldError("title", missing)
    if len(cleaned) > TITLE_MAX:
        raise FieldError("title", f"Keep the title under {TITLE_MAX} characters.")
    return cleaned


def raise_submitted(
    session: Session,
    kind: RecordKind[Any],
    *,
    description: str | None,
    actor: Actor,
    now: datetime,
    submission_id: str | None,
    note: str | None = None,
    **fields: Any,
) -> Any:
    """A new entry of `kind` with `fields` (checked by the caller) and the form's optional
    description, audited as created with `note`. A second call with the same `submission_id`
    returns the first entry: a repeated delivery, stored and audited once."""
    draft = kind.model(
        description=form_text(
            description, what="the description", field="description", required=False
        ),
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        submission_id=submission_id,
        **fields,
    )
    found, created = insert_submitted(session, draft)
    if created:
        kind.created(session, found, actor=actor, now=now, note=note)
    return found


def newest(
    session: Session, kind: RecordKind[Any], *, open_states: Iterable[StrEnum], open_only: bool
) -> list[Any]:
    """The register of `kind`: its entries in `open_states` (or all), newest first, at most
    LIST_LIMIT."""
    model: Any = kind.model
    statement = select(model).order_by(col(model.id).desc()).limit(LIST_LIMIT)
    if open_only:
        statement = statement.where(col(model.status).in_([s.value for s in open_states]))
    return list(session.exec(statement))
