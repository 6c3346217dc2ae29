"""The change calendar and conflicts: which changes are on in a period, and which live
changes on the same services or items overlap a change's window."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from models.change import ACTIVE_STATUSES, CALENDAR_STATUSES, Change, ChangeTarget
from services.changes import targets


def calendar(session: Session, *, start: datetime, end: datetime) -> list[Change]:
    """Approved, scheduled and implementing changes whose window overlaps [start, end)."""
    statement = (
        select(Change)
        .where(
            col(Change.status).in_([s.value for s in CALENDAR_STATUSES]),
            col(Change.planned_start) < end,
            col(Change.planned_end) > start,
        )
        .order_by(col(Change.planned_start), col(Change.id))
    )
    return list(session.exec(statement))


def conflicts(
    session: Session,
    *,
    change: Change,
    related_targets: Callable[[list[str]], Iterable[str]] | None = None,
) -> list[Change]:
    """Other live changes on the same targets whose windows overlap this one's.
    `related_targets` widens the targets (the CMDB gives what they depend on); by default only
    the same targets count."""
    if change.planned_start is None or change.planned_end is None:
        return []
    own = targets(session, key=change.key)
    wanted = set(own) | (set(related_targets(own)) if related_targets else set())
    if not wanted:
        return []
    statement = (
        select(Change)
        .join(ChangeTarget, col(ChangeTarget.change_id) == col(Change.id))
        .where(
            col(ChangeTarget.target).in_(sorted(wanted)),
            col(Change.id) != change.id,
            col(Change.status).in_([s.value for s in ACTIVE_STATUSES]),
            col(Change.planned_start) < change.planned_end,
            col(Change.planned_end) > change.planned_start,
        )
        .distinct()
        .order_by(col(Change.planned_start), col(Change.id))
    )
    return list(session.exec(statement))
