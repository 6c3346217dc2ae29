"""Reviews of the SMS objectives and controlled documents (`[sms]`): each has a row in the
store (models.sms.SmsItem) with its current version and next review; the owner is reminded
through the outbox before the review date, with a Record review button; recording the review
(date, outcome, new version) moves the next review on by the cadence and re-plans the
reminders.

The sweep reads every row in one query and writes only for what changed: a new or removed
objective or document, a version or date changed in the file, or a review date whose
reminders are not planned yet. So its statement count does not grow with what is due.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from models.agreement_policy import advance_review
from models.policy import Policy
from models.sms import SmsItem, SmsItemKind, SmsReview, SmsReviewRef
from models.sms_policy import Document, Reviewed
from services import audit, cadence, reminders, review_common
from services.errors import Forbidden, InvalidInput, NotFound
from services.mrkdwn import mention, user_text
from services.permissions import Actor

RECORD_REVIEW_ACTION_ID = "sms_record_review"
REMIND_AT = time(9, 0)
NOTE_MAX = review_common.NOTE_MAX
VERSION_MAX = 30
SYSTEM_ACTOR = "servicedesk"


class SmsReviewOutcome(StrEnum):
    CONFIRMED = "confirmed"
    UPDATED = "updated"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return {
            "confirmed": "Still right as it stands",
            "updated": "Updated (give the new version)",
            "retired": "No longer needed (remove it from the policy file)",
        }[self.value]


def _items(policy: Policy) -> dict[tuple[str, str], Reviewed]:
    found: dict[tuple[str, str], Reviewed] = {}
    for objective in policy.sms.objectives:
        found[(SmsItemKind.OBJECTIVE.value, objective.name)] = objective
    for document in policy.sms.documents:
        found[(SmsItemKind.DOCUMENT.value, document.name)] = document
    for plan in policy.sms.capacity_plans:
        found[(SmsItemKind.CAPACITY_PLAN.value, plan.name)] = plan
    return found


def _first_review(item: Reviewed, today: date) -> date:
    if item.next_review is not None:
        return item.next_review
    assert item.review_every is not None  # Reviewed._has_a_date guarantees one of them
    return advance_review(today, item.review_every)


def _file_version(item: Reviewed) -> str | None:
    return item.version if isinstance(item, Document) else None


def reminder_text(kind: SmsItemKind, item: Reviewed, review_on: date) -> str:
    what = "controlled document" if kind is SmsItemKind.DOCUMENT else kind.label
    return (
        f":spiral_calendar_pad: The {what} *{user_text(item.name)}* is due for review on "
        f"{review_on:%a %d %b %Y}. Review it, then press *Record review*."
    )


def reminder_blocks(kind: SmsItemKind, item: Reviewed, text: str) -> list[dict[str, Any]]:
    """The reminder's text and its Record review button."""
    return review_common.reminder_blocks(
        text,
        block_id="sms_review",
        action_id=RECORD_REVIEW_ACTION_ID,
        value=SmsReviewRef(kind=kind, name=item.name).dump(),
    )


def _plan(session: Session, row: SmsItem, item: Reviewed | None, now: datetime) -> None:
    """Make the row's pending reminders those of its next review (none when it is gone)."""
    kind = SmsItemKind(row.kind)
    planned: list[reminders.Planned] = []
    if item is not None and row.active and row.next_review is not None:
        planned = [
            reminders.Planned(
                f"review:{before.days}d",
                datetime.combine(row.next_review - before, REMIND_AT, tzinfo=UTC),
                item.owner,
            )
            for before in item.remind_before
        ]
    review_on = row.next_review or now.date()
    reminders.sync(
        session,
        record_key=row.key,
        plan=planned,
        text=lambda _p: reminder_text(kind, item, review_on) if item else "",
        blocks=(lambda _p, text: reminder_blocks(kind, item, text)) if item else None,
        now=now,
    )
    row.planned_for = row.next_review if item is not None and row.active else None


def _create(session: Session, kind: str, item: Reviewed, now: datetime) -> SmsItem | None:
    version = _file_version(item)
    row = SmsItem(
        kind=kind,
        name=item.name,
        version=version,
        file_version=version,
        file_next_review=item.next_review,
        next_review=_first_review(item, now.date()),
        created_at=now,
        updated_at=now,
    )
    recorded = cadence.add_planned(
        session,
        row,
        now=now,
        action=f"{kind} recorded",
        after=f"version {version}" if version else None,
        note=item.name,
    )
    # Not recorded: another instance recorded it first; the next sweep plans its reminders.
    return row if recorded else None


def _follow_file(session: Session, row: SmsItem, item: Reviewed, now: datetime) -> None:
    """A version or review date changed in the file: that is the current one now (audited)."""
    version = _file_version(item)
    if version != row.file_version:
        audit.record(
            session,
            key=row.key,
            actor=SYSTEM_ACTOR,
            at=now,
            action="version changed in the policy file",
            field="version",
            before=row.version,
            after=version,
        )
        row.version = version
        row.file_version = version
    if item.next_review != row.file_next_review:
        if item.next_review is not None:
            audit.record(
                session,
                key=row.key,
                actor=SYSTEM_ACTOR,
                at=now,
                action="review date changed in the policy file",
                field="next_review",
                before=row.next_review.isoformat() if row.next_review else None,
                after=item.next_review.isoformat(),
            )
            row.next_review = item.next_review
        row.file_next_review = item.next_review
    row.updated_at = now


def sweep(session: Session, *, now: datetime, policy: Policy) -> int:
    """Keep the rows of `[sms]` objectives and documents, and their review reminders, in line
    with the policy file. Returns how many rows were created, changed or re-planned."""
    wanted = _items(policy)
    rows = {(r.kind, r.name): r for r in session.exec(select(SmsItem).order_by(col(SmsItem.id)))}
    touched = 0
    for (kind, name), item in wanted.items():
        row = rows.get((kind, name))
        if row is None:
            created = _create(session, kind, item, now)
            if created is not None:
                _plan(session, created, item, now)
                touched += 1
            continue
        file_changed = (
            _file_version(item) != row.file_version or item.next_review != row.file_next_review
        )
        if file_changed or not row.active:
            _follow_file(session, row, item, now)
            row.active = True
        if file_changed or row.planned_for != row.next_review:
            _plan(session, row, item, now)
            session.add(row)
            touched += 1
    for key, row in rows.items():
        if key not in wanted and row.active:
            row.active = False
            _plan(session, row, None, now)
            session.add(row)
            touched += 1
    return touched


def standing(session: Session, *, policy: Policy, now: datetime) -> dict[tuple[str, str], SmsItem]:
    """Every objective's and document's row, by (kind, name); rows are created first for any
    the sweep has not seen yet, so a fresh install shows its dates at once."""
    sweep(session, now=now, policy=policy)
    session.flush()
    return {(r.kind, r.name): r for r in session.exec(select(SmsItem).where(col(SmsItem.active)))}


def check_reviewer(policy: Policy, *, kind: SmsItemKind, name: str, actor: Actor) -> Reviewed:
    """The objective or document, when `actor` may record its review: its owner or an admin."""
    item = policy.sms.item(kind.value, name)
    if item is None:
        raise NotFound(
            f"There is no {kind.label} called '{user_text(name)}' in the policy file any more."
        )
    if actor.user_id != item.owner and not actor.is_admin:
        raise Forbidden(
            f"Only the {kind.label}'s owner ({mention(item.owner)}) or an admin can record its review."
        )
    return item


def record_review(
    session: Session,
    *,
    kind: SmsItemKind,
    name: str,
    actor: Actor,
    reviewed_on: date | str | None,
    outcome: str | None,
    version: str | None,
    note: str | None,
    now: datetime,
    policy: Policy,
) -> SmsReview:
    """Record a review of an objective or document by its owner or an admin: the outcome, the
    new version (required when the outcome is "updated"), the next review one cadence on."""
    item = check_reviewer(policy, kind=kind, name=name, actor=actor)
    held = review_common.held_on(reviewed_on, now, field="reviewed_on")
    chosen = review_common.form_outcome(outcome, SmsReviewOutcome)
    new_version = (version or "").strip() or None
    if new_version is not None and len(new_version) > VERSION_MAX:
        raise InvalidInput(f"Keep the version under {VERSION_MAX} characters.")
    if chosen is SmsReviewOutcome.UPDATED and new_version is None:
        raise InvalidInput("An update needs its new version (for example 2.1).")
    text = review_common.form_note(note)
    standing(session, policy=policy, now=now)
    row = session.exec(
        select(SmsItem)
        .where(SmsItem.kind == kind.value, SmsItem.name == item.name)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if row is None or row.id is None:
        raise NotFound(f"The {kind.label} '{user_text(item.name)}' is not recorded yet; try again.")
    review_common.refuse_repeated(
        session, SmsReview, item_id=row.id, reviewed_on=held, outcome=chosen.value, note=text
    )
    following = advance_review(held, item.review_every) if item.review_every else None
    review = SmsReview(
        item_id=row.id,
        reviewed_on=held,
        outcome=chosen.value,
        version=new_version,
        note=text,
        recorded_by=actor.user_id,
        recorded_at=now,
        next_review=following,
    )
    session.add(review)
    summary = f"{held.isoformat()}, {chosen.value}"
    if new_version:
        summary += f", version {new_version}"
    review_common.audit_recorded(
        session,
        key=row.key,
        actor=actor.user_id,
        now=now,
        before=row.next_review,
        after=following,
        summary=summary,
        note=text,
    )
    if new_version and new_version != row.version:
        audit.record(
            session,
            key=row.key,
            actor=actor.user_id,
            at=now,
            action="new version",
            field="version",
            before=row.version,
            after=new_version,
        )
        row.version = new_version
    row.next_review = following
    row.updated_at = now
    session.add(row)
    session.flush()
    _plan(session, row, item, now)
    session.add(row)
    return review


def reviews(session: Session, *, item_ids: list[int]) -> dict[int, SmsReview]:
    """The latest review of each of these rows (one query)."""
    latest: dict[int, SmsReview] = {}
    if not item_ids:
        return latest
    for review in session.exec(
        select(SmsReview)
        .where(col(SmsReview.item_id).in_(item_ids))
        .order_by(col(SmsReview.reviewed_on), col(SmsReview.id))
    ):
        latest[review.item_id] = review
    return latest
