"""What the records a sweep plans on a cadence share (internal audits, management reviews, the
SMS objectives and documents reviewed on one): storing the next one once, however many
instances sweep at the same time, and the reminders of whoever holds it, before its date and
once a week after it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from services import audit, reminders, rows

SYSTEM_ACTOR = "servicedesk"
REMIND_AT = time(9, 0)
OVERDUE_AFTER = timedelta(days=7)


def add_planned(
    session: Session,
    record: Any,
    *,
    now: datetime,
    after: Any,
    note: str,
    action: str = "created",
) -> bool:
    """Store the record the sweep planned and audit it (`action`, to `after`, with `note`).
    False when another instance planned it first (the database's unique index refused this
    one): nothing is audited then."""
    if not rows.add_once(session, record):
        return False
    audit.record(
        session,
        key=record.key,
        actor=SYSTEM_ACTOR,
        at=now,
        action=action,
        after=after,
        note=note,
    )
    return True


def reminders_for(
    planned_on: date, *, stage: str, remind_before: list[timedelta], who: str
) -> list[reminders.Planned]:
    """`who`'s reminders of a record due on `planned_on`: one per `remind_before` ahead of it
    (stage `<stage>:<days>d`), then one when it is a week overdue."""
    out = [
        reminders.Planned(
            f"{stage}:{before.days}d",
            datetime.combine(planned_on - before, REMIND_AT, tzinfo=UTC),
            who,
        )
        for before in remind_before
    ]
    out.append(
        reminders.Planned(
            "overdue:7d",
            datetime.combine(planned_on + OVERDUE_AFTER, REMIND_AT, tzinfo=UTC),
            who,
        )
    )
    return out
