"""Links between any two records by key, in either direction, audited on both records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from models.links import RecordLink
from services import audit
from services.errors import InvalidInput


@dataclass(frozen=True)
class Linked:
    """A record linked to the one asked about; `outgoing` when the link was made from it."""

    key: str
    kind: str
    outgoing: bool


def _find(session: Session, a: str, b: str, kind: str) -> RecordLink | None:
    statement = select(RecordLink).where(
        RecordLink.from_key == a, RecordLink.to_key == b, RecordLink.kind == kind
    )
    return session.exec(statement).first()


def link(
    session: Session, *, a: str, b: str, kind: str, actor: str, now: datetime
) -> tuple[RecordLink, bool]:
    """Link record `a` to record `b` with `kind` ("caused by", "implements", …). A link that
    already exists is returned with False and nothing is recorded twice."""
    a, b, kind = a.strip().upper(), b.strip().upper(), kind.strip()
    if a == b:
        raise InvalidInput(f"{a} cannot be linked to itself.")
    if not kind:
        raise InvalidInput("Say what kind of link this is.")
    existing = _find(session, a, b, kind)
    if existing is not None:
        return existing, False
    row = RecordLink(from_key=a, to_key=b, kind=kind, created_by=actor, created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # The same link made at the same moment by someone else: theirs stands.
        existing = _find(session, a, b, kind)
        if existing is None:
            raise
        return existing, False
    for key, other in ((a, b), (b, a)):
        audit.record(
            session, key=key, actor=actor, at=now, action="linked", field="link",
            after=other, note=kind,
        )
    return row, True


def linked(session: Session, *, key: str, kind: str | None = None) -> list[Linked]:
    """Every record linked to `key` in either direction, optionally of one kind, oldest first."""
    key = key.strip().upper()
    statement = select(RecordLink).where(
        or_(RecordLink.from_key == key, RecordLink.to_key == key)
    )
    if kind is not None:
        statement = statement.where(RecordLink.kind == kind)
    statement = statement.order_by(col(RecordLink.created_at), col(RecordLink.id))
    return [
        Linked(row.to_key, row.kind, True) if row.from_key == key
        else Linked(row.from_key, row.kind, False)
        for row in session.exec(statement)
    ]
