"""Links between records of any kind: an incident to the item it hit, a problem to its incidents,
a change to the problem it fixes. Each link is stored once, as (a, b, kind)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, or_, select

from models.links import RecordLink
from services import audit, rows
from services.errors import InvalidInput
from services.mrkdwn import user_text


def _clean(key: str) -> str:
    cleaned = key.strip().upper()
    prefix, _, number = cleaned.partition("-")
    if not prefix.isalpha() or not number.isdigit():
        raise InvalidInput(
            f"'{user_text(key.strip())}' is not a record key; they look like INC-12 or CI-4."
        )
    return cleaned


def link(session: Session, *, a: str, b: str, kind: str, actor: str, now: datetime) -> bool:
    """Link `a` to `b`. False when that link already existed (nothing recorded)."""
    a, b = _clean(a), _clean(b)
    if a == b:
        raise InvalidInput(f"{a} cannot be linked to itself.")
    if _find(session, a, b, kind) is not None:
        return False
    # A concurrent identical link loses on the unique constraint, not with an error.
    if not rows.add_once(
        session, RecordLink(a=a, b=b, kind=kind, created_by=actor, created_at=now)
    ):
        return False
    audit.record(session, key=a, actor=actor, at=now, action="linked", field=kind, after=b)
    audit.record(session, key=b, actor=actor, at=now, action="linked", field=kind, after=a)
    return True


def unlink(session: Session, *, a: str, b: str, kind: str, actor: str, now: datetime) -> bool:
    """Remove the link. False when there was none."""
    a, b = _clean(a), _clean(b)
    result = session.execute(
        delete(RecordLink).where(
            col(RecordLink.a) == a, col(RecordLink.b) == b, col(RecordLink.kind) == kind
        )
    )
    if result.rowcount == 0:
        return False
    audit.record(session, key=a, actor=actor, at=now, action="unlinked", field=kind, before=b)
    audit.record(session, key=b, actor=actor, at=now, action="unlinked", field=kind, before=a)
    return True


def linked(session: Session, *, key: str, kind: str | None = None) -> list[str]:
    """Keys linked to `key` in either direction (optionally of one kind), sorted, no repeats."""
    key = _clean(key)
    statement = select(RecordLink).where(or_(RecordLink.a == key, RecordLink.b == key))
    if kind is not None:
        statement = statement.where(RecordLink.kind == kind)
    others = {row.b if row.a == key else row.a for row in session.exec(statement)}
    return sorted(others, key=_sort_key)


def _find(session: Session, a: str, b: str, kind: str) -> RecordLink | None:
    statement = select(RecordLink).where(
        RecordLink.a == a, RecordLink.b == b, RecordLink.kind == kind
    )
    return session.exec(statement).first()


def _sort_key(key: str) -> tuple[str, int]:
    prefix, _, number = key.partition("-")
    return prefix, int(number) if number.isdigit() else 0
