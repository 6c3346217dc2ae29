"""Service reviews with customers and reviews of suppliers: the owner is reminded before each
review (through the outbox, with the customer's open and breached records and a Record review
button), records it (date, attendees, outcome, agreed actions with owners and due dates), and
the next date moves on by the cadence. Actions are reminded to their owner when due and listed
until done.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, func, literal, select
from sqlmodel import Session, col

from models.agreement_policy import advance_review
from models.carried import Carried
from models.incident import OPEN_STATUSES, Incident
from models.policy import Policy
from models.relationship import PartyKind, RelationshipReview, ReviewAction
from models.relationship_policy import Customer, Supplier
from models.sla_timer import SlaTimer
from services import audit, inserts, notifications, reminders, review_common
from services.errors import AlreadyDone, Forbidden, InvalidInput, NotFound
from services.mrkdwn import is_user_id, mention, user_text
from services.permissions import Actor

RECORD_ACTION = "relationship_record_review"
DONE_ACTION = "review_action_done"
ACTION_KIND = "review_action"
REMIND_AT = time(9, 0)
OUTCOME_MAX = 3000
ACTION_MAX = 500
ATTENDEES_MAX = 50


class PartyRef(Carried):
    """Which customer or supplier a Record review button or form is about."""

    kind: PartyKind
    name: str


@dataclass(frozen=True)
class AgreedAction:
    text: str
    owner: str | None
    due_on: date | None


def parties(policy: Policy, kind: PartyKind) -> Sequence[Customer | Supplier]:
    return policy.customers if kind is PartyKind.CUSTOMER else policy.suppliers


def party(policy: Policy, kind: PartyKind, name: str) -> Customer | Supplier:
    lowered = (name or "").strip().lower()
    found = next((p for p in parties(policy, kind) if p.name.lower() == lowered), None)
    if found is None:
        known = ", ".join(p.name for p in parties(policy, kind)) or "none configured"
        raise NotFound(
            f"'{user_text(name[:60])}' is not a {kind.value}. {kind.value.capitalize()}s: "
            f"{user_text(known)}."
        )
    return found


def party_key(kind: PartyKind, name: str) -> str:
    """The audit trail's and the outbox's key for a party's reviews."""
    prefix = "CUS" if kind is PartyKind.CUSTOMER else "SRV"
    return f"{prefix}-" + hashlib.blake2b(name.lower().encode(), digest_size=6).hexdigest()


def reviews(
    session: Session, *, kind: PartyKind, name: str, limit: int = 5
) -> list[RelationshipReview]:
    """The latest reviews of a party, newest first."""
    return list(
        session.scalars(
            select(RelationshipReview)
            .where(
                col(RelationshipReview.party_kind) == kind.value,
                col(RelationshipReview.party) == name,
            )
            .order_by(col(RelationshipReview.reviewed_on).desc(), col(RelationshipReview.id).desc())
            .limit(limit)
        )
    )


def next_review(session: Session, *, kind: PartyKind, found: Customer | Supplier) -> date | None:
    """One cadence after the last review recorded; before any, the policy's `next_review`."""
    latest = reviews(session, kind=kind, name=found.name, limit=1)
    return latest[0].next_review if latest else found.next_review


def open_actions(session: Session, *, kind: PartyKind, name: str) -> list[ReviewAction]:
    """Actions agreed at the party's reviews and not done yet, the earliest due first."""
    return list(
        session.scalars(
            select(ReviewAction)
            .where(
                col(ReviewAction.party_kind) == kind.value,
                col(ReviewAction.party) == name,
                col(ReviewAction.done_at).is_(None),
            )
            .order_by(col(ReviewAction.due_on), col(ReviewAction.id))
        )
    )


def customer_summary(session: Session, customer: Customer) -> str:
    """Open incidents on the customer's services and how many have breached an SLA target."""
    services = [name.lower() for name in customer.services]
    if not services:
        return "No services are listed for this customer."
    open_ = [s.value for s in OPEN_STATUSES]
    where = [func.lower(col(Incident.service)).in_(services), col(Incident.status).in_(open_)]
    count = session.execute(select(func.count()).select_from(Incident).where(*where)).scalar_one()
    keys = select(literal("INC-") + cast(Incident.id, String)).where(*where).scalar_subquery()
    breached = session.execute(
        select(func.count(func.distinct(SlaTimer.record_key))).where(
            col(SlaTimer.record_key).in_(keys), col(SlaTimer.breached_at).is_not(None)
        )
    ).scalar_one()
    return f"Open incidents on their services: {count}, of which {breached} breached a target."


def reminder_text(session: Session, kind: PartyKind, found: Customer | Supplier, on: date) -> str:
    what = "service review with" if kind is PartyKind.CUSTOMER else "supplier review of"
    text = (
        f":spiral_calendar_pad: The {what} *{user_text(found.name)}* is due on "
        f"{on:%a %d %b %Y}. Hold it, then press *Record review*."
    )
    if isinstance(found, Customer):
        text += f"\n{customer_summary(session, found)}"
    return text


def review_button(kind: PartyKind, name: str) -> dict[str, Any]:
    return review_common.record_review_button(RECORD_ACTION, PartyRef(kind=kind, name=name).dump())


def _plan(found: Customer | Supplier, on: date | None) -> list[reminders.Planned]:
    if on is None or not found.owner:
        return []
    return [
        reminders.Planned(
            f"review:{days}d",
            datetime.combine(on - timedelta(days=days), REMIND_AT, tzinfo=UTC),
            found.owner,
        )
        for days in found.review_reminders
    ]


def _sync(
    session: Session, kind: PartyKind, found: Customer | Supplier, now: datetime
) -> list[str]:
    on = next_review(session, kind=kind, found=found)
    return reminders.sync(
        session,
        record_key=party_key(kind, found.name),
        plan=_plan(found, on),
        text=lambda _p: reminder_text(session, kind, found, on or now.date()),
        blocks=lambda _p, text: review_common.reminder_blocks(
            text,
            block_id="relationship_review",
            action_id=RECORD_ACTION,
            value=PartyRef(kind=kind, name=found.name).dump(),
        ),
        now=now,
    )


def _action_rows(actions: Sequence[ReviewAction], now: datetime) -> list[dict[str, Any]]:
    return [
        notifications.row(
            record_key=f"ACT-{action.id}",
            kind=ACTION_KIND,
            stage="due",
            recipient=action.owner,
            due_at=datetime.combine(action.due_on, REMIND_AT, tzinfo=UTC),
            text=(
                f":ballot_box_with_check: Due today, agreed at the review of "
                f"{user_text(action.party)}: {user_text(action.text)}"
            ),
            blocks=json.dumps(
                [
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": f"Due today, agreed at the review of "
                            f"{user_text(action.party)}: {user_text(action.text)}",
                        },
                    },
                    {
                        "type": "actions",
                        "block_id": "review_action",
                        "elements": [done_button(action)],
                    },
                ]
            ),
            now=now,
        )
        for action in actions
    ]


def done_button(action: ReviewAction) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Done"},
        "action_id": DONE_ACTION,
        "value": str(action.id),
    }


def sweep(session: Session, *, now: datetime, policy: Policy) -> int:
    """Review reminders for every customer and supplier with an owner and a date (the work
    follows the parties in the policy file, not what is due)."""
    added = 0
    for kind in PartyKind:
        for found in parties(policy, kind):
            added += len(_sync(session, kind, found, now))
    return added


def check_reviewer(policy: Policy, *, kind: PartyKind, name: str, actor: Actor) -> Any:
    """The party, when `actor` may record its review: its owner or an admin."""
    found = party(policy, kind, name)
    if actor.user_id != found.owner and not actor.is_admin:
        raise Forbidden(
            f"Only the {kind.value}'s owner ({mention(found.owner, nobody='none named')}) or an "
            "admin can record its review."
        )
    return found


def _clean_actions(actions: Sequence[AgreedAction], reviewed_on: date) -> list[AgreedAction]:
    cleaned = []
    for index, action in enumerate(actions, start=1):
        text = (action.text or "").strip()
        if not text and not action.owner and not action.due_on:
            continue
        if not text:
            raise InvalidInput(f"Action {index}: say what is to be done.")
        if len(text) > ACTION_MAX:
            raise InvalidInput(f"Action {index}: keep it under {ACTION_MAX} characters.")
        if not action.owner or not is_user_id(action.owner):
            raise InvalidInput(f"Action {index}: choose who owns it.")
        if action.due_on is None:
            raise InvalidInput(f"Action {index}: give its due date.")
        if action.due_on < reviewed_on:
            raise InvalidInput(f"Action {index}: the due date is before the review.")
        cleaned.append(AgreedAction(text, action.owner, action.due_on))
    return cleaned


def record_review(
    session: Session,
    *,
    kind: PartyKind,
    name: str,
    reviewed_on: date | None,
    attendees: Sequence[str],
    outcome: str,
    actions: Sequence[AgreedAction],
    actor: Actor,
    now: datetime,
    policy: Policy,
    submission_id: str | None = None,
) -> RelationshipReview | None:
    """Record a review by the party's owner or an admin; the next review moves on by the
    cadence and the actions are reminded when due. None when this form was already recorded."""
    found = check_reviewer(policy, kind=kind, name=name, actor=actor)
    reviewed_on = review_common.held_on(reviewed_on, now, field="reviewed_on")
    text = (outcome or "").strip()
    if not text:
        raise InvalidInput("Say what the review concluded.")
    if len(text) > OUTCOME_MAX:
        raise InvalidInput(f"Keep the outcome under {OUTCOME_MAX} characters.")
    people = [p for p in dict.fromkeys(attendees or []) if is_user_id(p)][:ATTENDEES_MAX]
    agreed = _clean_actions(actions, reviewed_on)
    following = advance_review(reviewed_on, found.review_every) if found.review_every else None
    review = inserts.insert_new(
        session,
        RelationshipReview(
            party_kind=kind.value,
            party=found.name,
            reviewed_on=reviewed_on,
            attendees=json.dumps(people),
            outcome=text,
            recorded_by=actor.user_id,
            recorded_at=now,
            next_review=following,
            submission_id=submission_id,
        ),
    )
    if review is None:
        return None
    rows = [
        ReviewAction(
            review_id=review.id or 0,
            party_kind=kind.value,
            party=found.name,
            text=action.text,
            owner=action.owner or "",
            due_on=action.due_on or reviewed_on,
        )
        for action in agreed
    ]
    session.add_all(rows)
    session.flush()
    audit.record(
        session,
        key=party_key(kind, found.name),
        actor=actor.user_id,
        at=now,
        action="review recorded",
        field="next_review",
        after=following.isoformat() if following else None,
        note=f"{reviewed_on.isoformat()}: {text}" + (f" ({len(rows)} actions)" if rows else ""),
    )
    notifications.schedule_many(session, _action_rows(rows, now))
    _sync(session, kind, found, now)
    return review


def complete_action(
    session: Session, *, action_id: int, actor: Actor, now: datetime, policy: Policy
) -> ReviewAction:
    """Mark an agreed action done: its owner, the party's owner, or an agent; once."""
    action = review_common.locked_action(session, ReviewAction, action_id)
    kind = PartyKind(action.party_kind)
    owner = next((p.owner for p in parties(policy, kind) if p.name == action.party), None)
    if not actor.is_agent and actor.user_id not in (action.owner, owner):
        raise Forbidden("Only the action's owner, the relationship owner or an agent can do that.")
    if action.done_at is not None:
        raise AlreadyDone(f"That action was already done by {mention(action.done_by)}.")
    action.done_at, action.done_by = now, actor.user_id
    session.add(action)
    notifications.cancel_for(session, record_key=f"ACT-{action.id}", kind=ACTION_KIND)
    audit.record(
        session,
        key=party_key(kind, action.party),
        actor=actor.user_id,
        at=now,
        action="review action done",
        note=action.text,
    )
    return action
