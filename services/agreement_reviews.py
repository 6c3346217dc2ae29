"""Reviews of agreements: the owner is reminded before each review date (through the outbox,
with a Record review button), and records the review; the next date moves on by the cadence.

Reminders go out at 09:00 UTC on the day that is `remind_before` ahead of the review date. A
review not recorded by its date is chased: the owner again every `chase_every` after it, and
`escalate_to` once it is `escalate_after` overdue (default: 14 days once `escalate_to` is set).
A recorded review moves the date, which re-plans the reminders (services.reminders cancels
the old ones, chases and escalation included), so each is sent at most once per review date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from models.agreement import AgreementRecord, AgreementReview, ReviewRef
from models.agreement_policy import Agreement, advance_review
from models.policy import Policy
from services import agreement_versions, reminders, review_common
from services.errors import Forbidden, NotFound
from services.mrkdwn import mention, user_text
from services.permissions import Actor

RECORD_REVIEW_ACTION_ID = "agreement_record_review"
REMIND_AT = time(9, 0)
NOTE_MAX = review_common.NOTE_MAX
DEFAULT_ESCALATE_AFTER = timedelta(days=14)
# Chases are planned one cadence ahead, so the outbox holds the next one, never a year's worth.
CHASES_MAX = 52


class ReviewOutcome(StrEnum):
    CONFIRMED = "confirmed"
    CHANGES_AGREED = "changes agreed"
    NOT_AGREED = "not agreed"

    @property
    def label(self) -> str:
        return {
            "confirmed": "Confirmed as it stands",
            "changes agreed": "Changes agreed (update the policy file)",
            "not agreed": "Not agreed (follow up with the customer)",
        }[self.value]


def plan(
    record: AgreementRecord, agreement: Agreement, now: datetime | None = None
) -> list[reminders.Planned]:
    """The reminders for the agreement's next review: one per `remind_before`, to the owner;
    once it is overdue, the next chase to the owner and the escalation to `escalate_to`."""
    if record.next_review is None:
        return []
    due = datetime.combine(record.next_review, REMIND_AT, tzinfo=UTC)
    planned = [
        reminders.Planned(f"review:{before.days}d", due - before, agreement.owner)
        for before in agreement.remind_before
    ]
    chase = agreement.chase_every
    if chase is not None and now is not None:
        for number in range(1, CHASES_MAX + 1):
            when = due + chase * number
            if when > now + chase:
                break
            planned.append(reminders.Planned(f"chase:{number}", when, agreement.owner))
    if agreement.escalate_to is not None:
        after = agreement.escalate_after or DEFAULT_ESCALATE_AFTER
        planned.append(reminders.Planned("escalate", due + after, agreement.escalate_to))
    return planned


def chase_text(agreement: Agreement, review_on: date, planned: reminders.Planned) -> str:
    """An overdue review, to its owner (a chase) or to `escalate_to` (the escalation)."""
    late = (planned.due_at.date() - review_on).days
    head = (
        f":rotating_light: Escalated to you: the review of the service level agreement "
        f"*{user_text(agreement.name)}* (owner {mention(agreement.owner)})"
        if planned.stage == "escalate"
        else f":hourglass: The review of the service level agreement *{user_text(agreement.name)}*"
    )
    return (
        f"{head} with {user_text(agreement.customer)} was due on {review_on:%a %d %b %Y} and is "
        f"{late} days overdue. Review it with the customer, then press *Record review*."
    )


def reminder_text(agreement: Agreement, review_on: date) -> str:
    return (
        f":spiral_calendar_pad: The service level agreement *{user_text(agreement.name)}* with "
        f"{user_text(agreement.customer)} is due for review on {review_on:%a %d %b %Y}. Review it "
        "with the customer, then press *Record review*."
    )


def reminder_blocks(agreement: Agreement, text: str) -> list[dict[str, Any]]:
    """The reminder's text and its Record review button."""
    return review_common.reminder_blocks(
        text,
        block_id="agreement_review",
        action_id=RECORD_REVIEW_ACTION_ID,
        value=ReviewRef(agreement=agreement.name).dump(),
    )


def _sync(session: Session, record: AgreementRecord, agreement: Agreement, now: datetime) -> int:
    review_on = record.next_review or now.date()

    def text(planned: reminders.Planned) -> str:
        if planned.stage.startswith("review:"):
            return reminder_text(agreement, review_on)
        return chase_text(agreement, review_on, planned)

    return len(
        reminders.sync(
            session,
            record_key=record.key,
            plan=plan(record, agreement, now),
            text=text,
            blocks=lambda _planned, text: reminder_blocks(agreement, text),
            now=now,
        )
    )


def sweep(session: Session, *, now: datetime, policy: Policy) -> int:
    """Keep every agreement's review reminders in the outbox; returns how many were added.
    One query reads the agreements, then `reminders.sync_many` brings all their reminders in
    line at once: the statements do not grow with the agreements or the reminders (the
    notifier sends those). An agreement gone from the policy file loses its pending
    reminders."""
    by_name = {agreement.name: agreement for agreement in policy.agreements}
    plans: dict[str, list[reminders.Planned]] = {}
    found: dict[str, tuple[AgreementRecord, Agreement]] = {}
    for record in session.exec(select(AgreementRecord).order_by(col(AgreementRecord.id))):
        agreement = by_name.get(record.name)
        plans[record.key] = plan(record, agreement, now) if agreement is not None else []
        if agreement is not None:
            found[record.key] = (record, agreement)

    def text(key: str, planned: reminders.Planned) -> str:
        record, agreement = found[key]
        review_on = record.next_review or now.date()
        if planned.stage.startswith("review:"):
            return reminder_text(agreement, review_on)
        return chase_text(agreement, review_on, planned)

    def blocks(key: str, _planned: reminders.Planned, message: str) -> list[dict[str, Any]]:
        return reminder_blocks(found[key][1], message)

    return len(reminders.sync_many(session, plans=plans, text=text, blocks=blocks, now=now))


def check_reviewer(policy: Policy, *, name: str, actor: Actor) -> Agreement:
    """The agreement, when `actor` may record its review: its owner or an admin."""
    agreement = policy.agreement(name)
    if agreement is None:
        raise NotFound(f"There is no agreement called '{name}' in the policy file any more.")
    if actor.user_id != agreement.owner and not actor.is_admin:
        raise Forbidden(
            f"Only the agreement's owner ({mention(agreement.owner)}) or an admin can record its review."
        )
    return agreement


def record_review(
    session: Session,
    *,
    name: str,
    actor: Actor,
    reviewed_on: date | str | None,
    outcome: str | None,
    note: str | None,
    now: datetime,
    policy: Policy,
) -> AgreementReview:
    """Record a review of the agreement `name` by its owner or an admin, move its next review
    date on by the cadence (none when it has no cadence), and re-plan the reminders."""
    agreement = check_reviewer(policy, name=name, actor=actor)
    reviewed_on = review_common.held_on(reviewed_on, now, field="reviewed_on")
    chosen = review_common.form_outcome(outcome, ReviewOutcome)
    text = review_common.form_note(note)
    record = agreement_versions.record_of(session, name=agreement.name)
    record = session.exec(
        select(AgreementRecord)
        .where(AgreementRecord.id == record.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    review_common.refuse_repeated(
        session,
        AgreementReview,
        name=agreement.name,
        reviewed_on=reviewed_on,
        outcome=chosen.value,
        note=text,
    )
    following = (
        advance_review(reviewed_on, agreement.review_every) if agreement.review_every else None
    )
    review = AgreementReview(
        name=agreement.name,
        reviewed_on=reviewed_on,
        outcome=chosen.value,
        note=text,
        recorded_by=actor.user_id,
        recorded_at=now,
        next_review=following,
    )
    session.add(review)
    review_common.audit_recorded(
        session,
        key=record.key,
        actor=actor.user_id,
        now=now,
        before=record.next_review,
        after=following,
        summary=f"{reviewed_on.isoformat()}, {chosen.value}",
        note=text,
    )
    record.next_review = following
    record.updated_at = now
    session.add(record)
    session.flush()
    _sync(session, record, agreement, now)
    return review


def reviews(session: Session, *, name: str) -> list[AgreementReview]:
    """Every review recorded for an agreement, newest first."""
    return list(
        session.exec(
            select(AgreementReview)
            .where(AgreementReview.name == name)
            .order_by(col(AgreementReview.reviewed_on).desc(), col(AgreementReview.id).desc())
        )
    )
