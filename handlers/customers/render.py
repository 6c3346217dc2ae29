"""What people read about customers and reviews (customers' and suppliers'). Names, outcomes
and actions come from the policy file or from people: escaped with `b.user_text`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.agreement_changes.render import raise_button
from models.relationship import PartyKind, RelationshipReview, ReviewAction
from models.relationship_policy import Customer
from services.relationship_reviews import (
    ACTION_MAX,
    DONE_ACTION,
    OUTCOME_MAX,
    RECORD_ACTION,
    PartyRef,
)

REVIEW_VIEW = "relationship_review_view"
ACTIONS_IN_FORM = 3


class F:
    """Field ids of the review form."""

    DATE = "reviewed_on"
    ATTENDEES = "attendees"
    OUTCOME = "outcome"

    @staticmethod
    def action(n: int, part: str) -> str:
        return f"action_{n}_{part}"


def list_line(c: Customer, next_on: dict[str, date | None]) -> str:
    """A customer in `/customer list`; `next_on` holds each one's next service review."""
    return (
        f"*{b.user_text(c.name)}* — owner {b.user(c.owner, nobody='—')}, services "
        f"{b.user_text(', '.join(c.services)) or '—'}, next review "
        f"{b.user_text(next_on.get(c.name)) or '—'}"
    )


def customer_blocks(customer: Customer, summary: str) -> list[b.Block]:
    fields = [
        f"*Owner*\n{b.user(customer.owner, nobody='—')}",
        f"*Contact*\n{b.ref(customer.contact) if customer.contact else '—'}",
        f"*Services*\n{b.user_text(', '.join(customer.services)) or '—'}",
        f"*Agreements*\n{b.user_text(', '.join(customer.agreements)) or '—'}",
    ]
    return [
        b.section(f":handshake: *{b.user_text(customer.name)}*", fields=fields),
        b.context(b.user_text(summary)),
    ]


def review_blocks(
    kind: PartyKind,
    name: str,
    past: Sequence[RelationshipReview],
    actions: Sequence[ReviewAction],
    next_on: date | None,
    raised: dict[str, str] | None = None,
) -> list[b.Block]:
    """Past reviews, open actions (each with a Done button) and a Record review button. With
    `raised` (a customer's: review key → the agreement change raised from it), each review
    shows its change or a Raise agreement change button."""
    when = next_on.isoformat() if next_on else "not planned"
    out: list[b.Block] = [b.section(f"*Reviews* — next: {when}")]
    if past and raised is not None:
        for r in past:
            key = f"CRV-{r.id}"
            line = _review_line(r) + f" ({key})"
            change = raised.get(key)
            if change:
                out.append(b.section(f"{line} → {b.user_text(change)}"[: b.SECTION_LIMIT]))
            else:
                out.append(
                    {
                        "type": "section",
                        "text": {"type": "mrkdwn", "text": line[: b.SECTION_LIMIT]},
                        "accessory": raise_button(key),
                    }
                )
    elif past:
        out.extend(b.line_sections([_review_line(r) for r in past]))
    else:
        out.append(b.context("No review recorded yet."))
    for action in actions[:20]:
        out.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f":ballot_box_with_check: {b.user_text(action.text)[:500]} — "
                    f"{b.user(action.owner)}, due {action.due_on.isoformat()}",
                },
                "accessory": b.button("Done", DONE_ACTION, str(action.id)),
            }
        )
    buttons = b.actions(
        "relationship_review",
        [b.button("Record review", RECORD_ACTION, PartyRef(kind=kind, name=name).dump())],
    )
    if buttons:
        out.append(buttons)
    return out


def _review_line(review: RelationshipReview) -> str:
    people = ", ".join(b.user(p) for p in json.loads(review.attendees or "[]"))
    return (
        f"`{review.reviewed_on.isoformat()}` {b.user_text(review.outcome)[:300]} — "
        f"{people or 'no attendees'}"
    )


def recorded_blocks(text: str, review_key: str) -> list[b.Block]:
    """The DM confirming a customer's review (`text` from recorded_text), with the button that
    raises an agreement change from it."""
    return [
        b.section(text),
        {"type": "actions", "block_id": "agreement_change", "elements": [raise_button(review_key)]},
    ]


def review_modal(kind: PartyKind, name: str) -> dict[str, object]:
    inputs: list[b.Block] = [
        b.section(f"Review of *{b.user_text(name)}*"),
        *rb.meeting_inputs(F.DATE, F.ATTENDEES),
        rb.text_block(F.OUTCOME, "Outcome", max_length=OUTCOME_MAX),
    ]
    for n in range(1, ACTIONS_IN_FORM + 1):
        inputs += rb.action_inputs(
            n,
            F.action(n, "text"),
            F.action(n, "owner"),
            F.action(n, "due"),
            max_length=ACTION_MAX,
        )
    return b.modal(
        REVIEW_VIEW,
        "Record review",
        inputs,
        submit="Record",
        private_metadata=PartyRef(kind=kind, name=name).dump(),
    )


def recorded_text(name: str, next_on: date | None, actions: int) -> str:
    following = f" Next review: {next_on.isoformat()}." if next_on else ""
    return f"Review of {b.user_text(name)} recorded with {actions} action(s).{following}"


def done_text(action: ReviewAction) -> str:
    return f":white_check_mark: Done: {b.user_text(action.text)} ({b.user(action.done_by)})"
