"""The change and release reminder sweep as it was before issue 10's last step: one record at
a time, one SELECT of its pending reminders and one INSERT per planned reminder.

Kept only as the reference that tests/changes/test_reminder_sweep_equivalence.py compares the
set-based `services.change_reminders.sweep` with, on the same data. It reuses the plans and
texts of services.change_reminders, so the comparison is about the shape of the sweep (what is
read and written), not about the wording.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from models.change import Change, ChangeStatus
from models.notification import Notification, NotificationStatus
from models.policy import Policy
from models.release import Release
from services import change_plan, change_reminders, changes, notifications, releases, reminders
from services.reminders import KIND, STALE_AFTER, Planned


def _sync(
    session: Session,
    *,
    record_key: str,
    plan: Sequence[Planned],
    text: Callable[[Planned], str],
    now: datetime,
) -> list[str]:
    wanted = {
        (f"{p.stage}@{p.due_at:%Y%m%dT%H%M%SZ}", p.recipient): p
        for p in plan
        if p.recipient and p.due_at > now - STALE_AFTER
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
        if notifications.schedule(
            session,
            record_key=record_key,
            kind=KIND,
            stage=stage,
            recipient=recipient,
            due_at=planned.due_at,
            text=text(planned),
            now=now,
        ):
            added.append(stage)
    return added


def _sync_change(session: Session, *, key: str, policy: Policy, now: datetime) -> list[str]:
    change = changes.get(session, key=key)
    plan = [Planned(*r) for r in change_plan.reminder_plan(change, policy)]
    if change.status not in change_reminders.CHANGE_STATES:
        plan = []
    if change.status == ChangeStatus.REVIEW.value:
        plan = [p for p in plan if p.stage == "review"]
    return _sync(
        session,
        record_key=change.key,
        plan=plan,
        text=lambda p: change_reminders.change_text(change, p),
        now=now,
    )


def _sync_release(session: Session, *, key: str, policy: Policy, now: datetime) -> list[str]:
    release = releases.get(session, key=key)
    plan = [Planned(*r) for r in releases.reminder_plan(release, policy)]
    if release.status not in change_reminders.RELEASE_STATES:
        plan = []
    return _sync(
        session,
        record_key=release.key,
        plan=plan,
        text=lambda p: change_reminders.release_text(release, p),
        now=now,
    )


def sweep(session: Session, *, now: datetime, policy: Policy) -> int:
    keys = {
        f"CHG-{i}"
        for i in session.exec(
            select(Change.id).where(col(Change.status).in_(change_reminders.CHANGE_STATES))
        )
    }
    keys |= {
        f"REL-{i}"
        for i in session.exec(
            select(Release.id).where(col(Release.status).in_(change_reminders.RELEASE_STATES))
        )
    }
    keys |= set(
        session.exec(
            select(Notification.record_key).where(
                Notification.kind == reminders.KIND,
                col(Notification.status) == NotificationStatus.PENDING.value,
            )
        )
    )
    added = 0
    for key in sorted(keys):
        if key.startswith("CHG-"):
            added += len(_sync_change(session, key=key, policy=policy, now=now))
        elif key.startswith("REL-"):
            added += len(_sync_release(session, key=key, policy=policy, now=now))
    return added
