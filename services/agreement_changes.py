"""Changes to a customer's requirements or agreement, agreed in a service review, raised from
that review as a change of type "agreement" (ISO/IEC 20000-1 clause 7.1): they pass through
change management and its approvals like a normal change, and the change links back to the
review (record_link kind "raised_from").

A review is named by a key: CRV-n for a customer's service review (relationship_review), ARV-n
for a review of an agreement (agreement_review). One change is raised per review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from models.agreement import AgreementReview
from models.change import Change, ChangeInput, ChangeType, Risk
from models.policy import Policy
from models.relationship import PartyKind, RelationshipReview
from services import changes, links
from services.errors import AlreadyDone, FieldError, Forbidden, NotFound
from services.mrkdwn import mention
from services.permissions import Actor

LINK = "raised_from"
CUSTOMER_REVIEW = "CRV"
AGREEMENT_REVIEW = "ARV"


@dataclass(frozen=True)
class Origin:
    """The review a change is raised from: its key, whose review it was, and what it said."""

    key: str
    subject: str  # the customer's or the agreement's name
    reviewed_on: date
    owner: str | None
    outcome: str
    agreements: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)


def customer_review_key(review: RelationshipReview) -> str:
    return f"{CUSTOMER_REVIEW}-{review.id}"


def agreement_review_key(review: AgreementReview) -> str:
    return f"{AGREEMENT_REVIEW}-{review.id}"


def _parse(key: str) -> tuple[str, int]:
    prefix, _, number = (key or "").strip().upper().partition("-")
    if prefix not in (CUSTOMER_REVIEW, AGREEMENT_REVIEW) or not (
        number.isascii() and number.isdigit() and len(number) <= 9
    ):
        raise NotFound("That review is unknown; the button is from an old message.")
    return prefix, int(number)


def origin(session: Session, *, key: str, policy: Policy, lock: bool = False) -> Origin:
    """The review called `key` (CRV-n or ARV-n), read FOR UPDATE with `lock`."""
    prefix, number = _parse(key)
    model = RelationshipReview if prefix == CUSTOMER_REVIEW else AgreementReview
    statement = select(model).where(col(model.id) == number)
    if lock:
        statement = statement.with_for_update()
    review = session.exec(statement).first()
    if review is None or (
        isinstance(review, RelationshipReview) and review.party_kind != PartyKind.CUSTOMER.value
    ):
        raise NotFound("That review is unknown; the button is from an old message.")
    if isinstance(review, RelationshipReview):
        customer = next((c for c in policy.customers if c.name == review.party), None)
        agreements = list(customer.agreements) if customer else []
        return Origin(
            customer_review_key(review),
            review.party,
            review.reviewed_on,
            customer.owner if customer else None,
            review.outcome,
            agreements,
            list(customer.services) if customer else [],
        )
    agreement = policy.agreement(review.name)
    return Origin(
        agreement_review_key(review),
        review.name,
        review.reviewed_on,
        agreement.owner if agreement else None,
        review.note or review.outcome,
        [review.name],
        list(agreement.services) if agreement else [],
    )


def check_raiser(found: Origin, actor: Actor) -> None:
    """The review's owner (the customer's relationship owner, the agreement's owner), an
    agent or an admin may raise its change."""
    if actor.is_agent or actor.user_id == found.owner:
        return
    raise Forbidden(
        f"Only the review's owner ({mention(found.owner, nobody='none named')}) or a service "
        "desk agent can raise a change from it."
    )


def raised_from(session: Session, *, key: str) -> str | None:
    """The change already raised from the review, if any."""
    return next(iter(links.linked(session, key=key, kind=LINK)), None)


def raised_for(session: Session, *, keys: list[str]) -> dict[str, str]:
    """For many reviews at once (one query): review key → the change raised from it."""
    from models.links import RecordLink

    if not keys:
        return {}
    rows = session.exec(
        select(RecordLink).where(col(RecordLink.kind) == LINK, col(RecordLink.b).in_(keys))
    )
    return {row.b: row.a for row in rows}


def raise_change(
    session: Session,
    *,
    key: str,
    title: str,
    description: str,
    agreement: str | None,
    risk: str | None,
    planned_start: datetime | None,
    planned_end: datetime | None,
    backout_plan: str,
    implementer: str | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
    submission_id: str | None = None,
) -> Change:
    """Raise a change of type agreement from the review `key`, linked to it; once per review
    (the review is locked, so two forms submitted at once raise one change and the other is
    told which). A repeated delivery of the same form returns its change."""
    if submission_id is not None:
        existing = changes.find_by_submission(session, submission_id=submission_id)
        if existing is not None:
            return existing
    found = origin(session, key=key, policy=policy, lock=True)
    check_raiser(found, actor)
    already = raised_from(session, key=found.key)
    if already is not None:
        raise AlreadyDone(f"{already} was already raised from this review.")
    if not (description or "").strip():
        raise FieldError("description", "Say what is to change in the requirements or agreement.")
    if agreement and agreement not in found.agreements and policy.agreement(agreement) is None:
        raise FieldError("agreement", "Choose one of the agreements.")
    if risk not in {r.value for r in Risk}:
        raise FieldError("risk", "Choose the risk.")
    if agreement:
        description = f"Agreement: {agreement}\n{description.strip()}"
    change = changes.create(
        session,
        data=ChangeInput(
            title=title or f"Agreement change for {found.subject}",
            type=ChangeType.AGREEMENT,
            description=(
                f"Raised from the review of {found.subject} on {found.reviewed_on.isoformat()} "
                f"({found.key}).\n{description.strip()}"
            ),
            risk=Risk(risk),
            targets=found.services,
            planned_start=planned_start,
            planned_end=planned_end,
            backout_plan=backout_plan,
            implementer=implementer,
        ),
        requester=actor.user_id,
        now=now,
        policy=policy,
        submission_id=submission_id,
        detailed=True,
    )
    links.link(session, a=change.key, b=found.key, kind=LINK, actor=actor.user_id, now=now)
    return change
