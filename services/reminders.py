"""Reminders about planned work (change windows, reviews, release windows) as outbox rows.

A record's reminder plan is recomputed whenever the record moves; `sync` makes the outbox
match it: rows for reminders that no longer apply are cancelled, new ones are added with their
due time, and the notifier sends each once when it falls due. The due time is part of the
stage name, so a rescheduled window gets fresh reminders instead of colliding with old ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session

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
    added = sync_many(
        session,
        plans={record_key: plan},
        text=lambda _key, planned: text(planned),
        blocks=(lambda _key, planned, message: blocks(planned, message)) if blocks else None,
        now=now,
    )
    return [stage for _key, stage in added]


def sync_many(
    session: Session,
    *,
    plans: Mapping[str, Sequence[Planned]],
    text: Callable[[str, Planned], str],
    now: datetime,
    blocks: Callable[[str, Planned, str], list[dict[str, Any]]] | None = None,
) -> list[tuple[str, str]]:
    """`sync` for many records at once ({record key: its plan}; an empty plan cancels what is
    pending), in at most four statements however many records and reminders there are: one
    read of the reminder rows the records have, one update cancelling those no longer planned,
    one reviving cancelled ones planned again, one insert of the new ones. Returns (record key, stage) of the reminders newly scheduled.

    The insert skips what exists (ON CONFLICT DO NOTHING), so two sweeps at once still queue
    each reminder once; `text` and `blocks` are only called for reminders not queued before.
    """
    if not plans:
        return []
    wanted = {
        (key, _stage(p), p.recipient): p
        for key, plan in plans.items()
        for p in plan
        if p.recipient and p.due_at > now - STALE_AFTER
    }
    known = session.execute(
        sa_select(
            _TABLE.c.id, _TABLE.c.record_key, _TABLE.c.stage, _TABLE.c.recipient, _TABLE.c.status
        ).where(_TABLE.c.kind == KIND, _TABLE.c.record_key.in_(sorted(plans)))
    ).all()
    seen = {(row.record_key, row.stage, row.recipient) for row in known}
    stale = [
        row.id
        for row in known
        if row.status == NotificationStatus.PENDING.value
        and (row.record_key, row.stage, row.recipient) not in wanted
    ]
    if stale:
        session.execute(
            sa_update(_TABLE)
            .where(_TABLE.c.id.in_(stale), _TABLE.c.status == NotificationStatus.PENDING.value)
            .values(status=NotificationStatus.CANCELLED.value)
        )
    # Planned again after it was cancelled (a recipient taken off the plan, then put back):
    # pending again, as it was first queued.
    revived = [
        row.id
        for row in known
        if row.status == NotificationStatus.CANCELLED.value
        and (row.record_key, row.stage, row.recipient) in wanted
    ]
    if revived:
        session.execute(
            sa_update(_TABLE)
            .where(_TABLE.c.id.in_(revived), _TABLE.c.status == NotificationStatus.CANCELLED.value)
            .values(
                status=NotificationStatus.PENDING.value,
                next_attempt_at=_TABLE.c.due_at,
                attempts=0,
            )
        )
    new = []
    added = []
    for (key, stage, recipient), planned in wanted.items():
        if (key, stage, recipient) in seen:
            continue
        message = text(key, planned)
        new.append(
            notifications.row(
                record_key=key,
                kind=KIND,
                stage=stage,
                recipient=recipient,
                due_at=planned.due_at,
                text=message,
                blocks=blocks(key, planned, message) if blocks else None,
                now=now,
            )
        )
        added.append((key, stage))
    notifications.schedule_many(session, new)
    return added


_TABLE = Notification.__table__  # type: ignore[attr-defined]
