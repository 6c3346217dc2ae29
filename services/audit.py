"""The audit trail: append rows, read a record's history. There is no update and no delete."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models.audit import AuditEntry


def _text(value: object) -> str | None:
    if value is None:
        return None
    return getattr(value, "value", value) if not isinstance(value, str) else value


def record(
    session: Session,
    *,
    key: str,
    actor: str,
    at: datetime,
    action: str,
    field: str | None = None,
    before: object = None,
    after: object = None,
    note: str | None = None,
) -> AuditEntry:
    """Append one audit row for `key` (INC-3, CHG-7, …) in the caller's transaction."""
    entry = AuditEntry(
        record_key=key,
        actor=actor,
        at=at,
        action=action,
        field=field,
        from_value=None if before is None else str(_text(before)),
        to_value=None if after is None else str(_text(after)),
        note=note,
    )
    session.add(entry)
    return entry


def trail(session: Session, *, key: str) -> list[AuditEntry]:
    """Every audit row of one record, oldest first."""
    statement = (
        select(AuditEntry)
        .where(AuditEntry.record_key == key)
        .order_by(col(AuditEntry.at), col(AuditEntry.id))
    )
    return list(session.exec(statement))
