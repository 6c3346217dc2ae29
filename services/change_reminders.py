"""Reminders for changes and releases: the plans services.changes and services.releases make,
kept in the notification outbox by services.reminders."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models.change import Change, ChangeStatus
from models.notification import Notification, NotificationStatus
from models.policy import Policy
from models.release import Release, ReleaseStatus
from services import changes, releases, reminders
from services.mrkdwn import user_text

# Records whose plan can still hold reminders; anything else has none (and pending ones are
# cancelled by the sweep).
CHANGE_STATES = (
    ChangeStatus.APPROVED.value,
    ChangeStatus.SCHEDULED.value,
    ChangeStatus.IMPLEMENTING.value,
    ChangeStatus.REVIEW.value,
)
RELEASE_STATES = (
    ReleaseStatus.PLANNED.value,
    ReleaseStatus.BUILT.value,
    ReleaseStatus.TESTED.value,
    ReleaseStatus.SCHEDULED.value,
)


def _when(at: datetime) -> str:
    return f"{at:%a %d %b %H:%M} UTC"


def change_text(change: Change, planned: reminders.Planned) -> str:
    head = f"*{change.key}* {user_text(change.title)}"
    stage = planned.stage
    if stage.startswith("before_start:"):
        return (
            f":calendar: Reminder: the window of {head} opens in {stage.split(':', 1)[1]} "
            f"({_when(change.planned_start)}). You are the implementer."
        )
    if stage == "at_start":
        return f":arrow_forward: The window of {head} opens now. Press *Start implementation* when you begin."
    if stage == "overrun":
        return (
            f":hourglass: {head} was planned to end at {_when(change.planned_end)} and is still "
            "being implemented. Complete it, or back it out and record that in the review."
        )
    return f":memo: {head} is waiting for its post-implementation review: record the outcome."


def release_text(release: Release, planned: reminders.Planned) -> str:
    head = f"*{release.key}* {user_text(release.name)} {user_text(release.version)}"
    if planned.stage.startswith("before_start:"):
        return (
            f":calendar: Reminder: the deployment window of {head} opens in "
            f"{planned.stage.split(':', 1)[1]} ({_when(release.window_start)})."
        )
    return f":arrow_forward: The deployment window of {head} opens now."


def sync_change(session: Session, *, key: str, policy: Policy, now: datetime) -> list[str]:
    """Bring the change's pending reminders in line with its state and window."""
    change = changes.get(session, key=key)
    plan = [reminders.Planned(*r) for r in changes.reminder_plan(change, policy)]
    if change.status not in CHANGE_STATES:
        plan = []
    if change.status == ChangeStatus.REVIEW.value:
        plan = [p for p in plan if p.stage == "review"]
    return reminders.sync(
        session, record_key=change.key, plan=plan, text=lambda p: change_text(change, p), now=now
    )


def sync_release(session: Session, *, key: str, policy: Policy, now: datetime) -> list[str]:
    """Bring the release's pending reminders in line with its state and window."""
    release = releases.get(session, key=key)
    plan = [reminders.Planned(*r) for r in releases.reminder_plan(release, policy)]
    if release.status not in RELEASE_STATES:
        plan = []
    return reminders.sync(
        session, record_key=release.key, plan=plan, text=lambda p: release_text(release, p), now=now
    )


def sweep(session: Session, *, now: datetime, policy: Policy) -> int:
    """Sync every change and release that can hold reminders, and every record that still has
    pending ones (so a record that moved on while no handler saw it loses them). The cost
    follows the active records, not all stored ones."""
    keys = {
        f"CHG-{i}"
        for i in session.exec(select(Change.id).where(col(Change.status).in_(CHANGE_STATES)))
    }
    keys |= {
        f"REL-{i}"
        for i in session.exec(select(Release.id).where(col(Release.status).in_(RELEASE_STATES)))
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
            added += len(sync_change(session, key=key, policy=policy, now=now))
        elif key.startswith("REL-"):
            added += len(sync_release(session, key=key, policy=policy, now=now))
    return added
