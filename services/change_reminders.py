"""Reminders for changes and releases: the plans services.changes and services.releases make,
kept in the notification outbox by services.reminders."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models.change import Change, ChangeStatus
from models.notification import Notification, NotificationStatus
from models.policy import Policy
from models.release import Release, ReleaseStatus
from services import change_plan, changes, releases, reminders
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


def _change_plan(change: Change, policy: Policy) -> list[reminders.Planned]:
    if change.status not in CHANGE_STATES:
        return []
    plan = [reminders.Planned(*r) for r in change_plan.reminder_plan(change, policy)]
    if change.status == ChangeStatus.REVIEW.value:
        plan = [p for p in plan if p.stage == "review"]
    return plan


def _release_plan(release: Release, policy: Policy) -> list[reminders.Planned]:
    if release.status not in RELEASE_STATES:
        return []
    return [reminders.Planned(*r) for r in releases.reminder_plan(release, policy)]


def sync_change(session: Session, *, key: str, policy: Policy, now: datetime) -> list[str]:
    """Bring the change's pending reminders in line with its state and window."""
    change = changes.get(session, key=key)
    return reminders.sync(
        session,
        record_key=change.key,
        plan=_change_plan(change, policy),
        text=lambda p: change_text(change, p),
        now=now,
    )


def sync_release(session: Session, *, key: str, policy: Policy, now: datetime) -> list[str]:
    """Bring the release's pending reminders in line with its state and window."""
    release = releases.get(session, key=key)
    return reminders.sync(
        session,
        record_key=release.key,
        plan=_release_plan(release, policy),
        text=lambda p: release_text(release, p),
        now=now,
    )


def sweep(session: Session, *, now: datetime, policy: Policy) -> int:
    """Sync every change and release that can hold reminders, and every record that still has
    pending ones (so a record that moved on while no handler saw it loses them). Returns how
    many reminders were newly queued.

    Set-based: one read of the active changes, one of the active releases, one of the records
    with pending reminders, then `reminders.sync_many` (one read, one update, one insert). The
    number of statements does not grow with the records or the reminders due."""
    records: dict[str, Change | Release] = {
        change.key: change
        for change in session.exec(select(Change).where(col(Change.status).in_(CHANGE_STATES)))
    }
    records.update(
        (release.key, release)
        for release in session.exec(
            select(Release).where(col(Release.status).in_(RELEASE_STATES))
        )
    )
    plans: dict[str, list[reminders.Planned]] = {
        key: _change_plan(record, policy)
        if isinstance(record, Change)
        else _release_plan(record, policy)
        for key, record in records.items()
    }
    # A change or release that moved on with reminders still pending: none apply any more.
    for key in session.exec(
        select(Notification.record_key)
        .where(
            Notification.kind == reminders.KIND,
            col(Notification.status) == NotificationStatus.PENDING.value,
        )
        .distinct()
    ):
        if key.startswith(("CHG-", "REL-")):
            plans.setdefault(key, [])

    def text(key: str, planned: reminders.Planned) -> str:
        record = records[key]
        if isinstance(record, Change):
            return change_text(record, planned)
        return release_text(record, planned)

    return len(reminders.sync_many(session, plans=plans, text=text, now=now))
