"""Reminders about planned work (change windows, reviews, release windows) as outbox rows.

A record's reminder plan is recomputed whenever the record moves; `sync` makes the outbox
match it: rows for reminders that no longer apply are cancelled, new ones are added with their
due time, and the notifier sends each once when it falls due. The due time is part of the
stage name, so a rescheduled window gets fresh reminders instead of colliding with old ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlmodel import Session, col, select

from models.notification import Notification, NotificationStatus
from services import notifications

KIND = "reminder"
# A reminder whose time passed more than this long ago when it is planned is not sent at all
# ("starts in 1 hour" is no use once the window has opened).
STALE_AFTER = timedelta(minutes=5)


class Planned(NamedTuple):
    stage: str
    due_at: datetime
    recipient: str


def _stage(planned: Planned) -> str:
    return f"{planned.stage}@{planned.due_at:%Y%m%dT%H%M%SZ}"


def sync(
    session: Session,
    *,
    record_key: str,
    plan: Sequence[Planned],
    text: Callable[[Planned], str],
    now: datetime,
    blocks: Callable[[Planned, str], list[dict[str, Any]]] | None = None,
) -> list[str]:
    """Make the pending reminders of `record_key` exactly the future part of `plan`. Returns the
    stages newly scheduled."""
    wanted = {
        (_stage(p), p.recipient): p for p in plan if p.recipient and p.due_at > now - STALE_AFTER
    }
    pending = session.exec(
        select(Notification).where(
            Notification.record_key == record_key,
            Notification.kind == KIND,
            col(Notification.status) == NotificationStatus.PENDING.value,
        )
    ).all()
    for row in pending:
        if (row.stage, row.recipient) not in wanted:
            row.status = NotificationStatus.CANCELLED.value
            session.add(row)
    added = []
    for (stage, recipient), planned in wanted.items():
        message = text(planned)
        if notifications.schedule(
            session,
            record_key=record_key,
            kind=KIND,
            stage=stage,
            recipient=recipient,
            due_at=planned.due_at,
            text=message,
            blocks=blocks(planned, message) if blocks else None,
            now=now,
        ):
            added.append(stage)
    return added
