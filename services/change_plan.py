"""When to remind whom about a change (the reminder plan the change reminder sweep follows)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from models.change import Change, ChangeStatus
from models.policy import Policy

S = ChangeStatus


class Reminder(NamedTuple):
    stage: str
    due_at: datetime
    recipient: str


def reminder_plan(change: Change, policy: Policy) -> list[Reminder]:
    """When to remind whom about this change: before and at the window's start (implementer),
    when the planned end passes while still implementing (implementer), and a post-implementation
    review after implementation (requester). A sweep turns these into notifications, checking
    the change's state when each falls due."""
    if change.planned_start is None or change.planned_end is None:
        return []
    if change.state in (S.REJECTED, S.CLOSED, S.CANCELLED):
        return []
    settings = policy.changes.reminders
    doer = change.implementer or change.requester
    plan: list[Reminder] = []
    if change.state in (S.APPROVED, S.SCHEDULED):
        for offset in sorted(set(settings.before_start), reverse=True):
            stage = f"before_start:{duration_text(offset)}"
            plan.append(Reminder(stage, change.planned_start - offset, doer))
        if settings.at_start:
            plan.append(Reminder("at_start", change.planned_start, doer))
    if settings.overrun and change.state in (S.APPROVED, S.SCHEDULED, S.IMPLEMENTING):
        plan.append(Reminder("overrun", change.planned_end, doer))
    implemented = change.implemented_at or change.planned_end
    plan.append(Reminder("review", implemented + settings.review_after, change.requester))
    return plan


def duration_text(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
