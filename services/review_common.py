"""What every kind of review shares (agreements, SMS objectives and documents, customers and
suppliers, management reviews): the date a review was held, read from its form, the Record
review button its reminders carry (built here because the sweeps queue the reminders; each
handler listens for its own action id), and the agreed action a Done button names. Agreements
and SMS items also share the outcome and note of their form, the refusal of a form delivered
twice and the review's audit entry."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlmodel import Session, select

from services import audit, rows
from services.due_reminders import form_date
from services.errors import AlreadyDone, FieldError, InvalidInput

# A review recorded late is fine; one dated more than a year back is most likely a typo.
OLDEST = timedelta(days=366)
NOTE_MAX = 2000

Outcome = TypeVar("Outcome", bound=StrEnum)
Action = TypeVar("Action")


def held_on(value: date | str | None, now: datetime, *, field: str = "held_on") -> date:
    """The date a review was held (a datepicker's ISO date): given, not in the future, within
    the last year. A bad one is a FieldError naming `field`."""
    value = form_date(value, field=field)
    if value is None:
        raise FieldError(field, "Give the date the review was held.")
    if value > now.date():
        raise FieldError(field, "That is in the future; record the review once it is held.")
    if value < now.date() - OLDEST:
        raise FieldError(field, "That is more than a year ago; check the year.")
    return value


def form_outcome(value: str | None, outcomes: type[Outcome]) -> Outcome:
    """The outcome chosen on the review form, one of `outcomes`."""
    try:
        return outcomes(value or "")
    except ValueError:
        raise InvalidInput("Choose the outcome of the review.") from None


def form_note(value: str | None) -> str:
    """The review's note, trimmed, of at most NOTE_MAX characters (empty when none)."""
    text = (value or "").strip()
    if len(text) > NOTE_MAX:
        raise InvalidInput(f"Keep the note under {NOTE_MAX} characters.")
    return text


def refuse_repeated(session: Session, model: Any, **same: Any) -> None:
    """A review form delivered again (a double click, Slack's retry) finds the review it
    recorded: a row of `model` with the `same` values is refused in plain words."""
    if session.exec(select(model).filter_by(**same)).first() is not None:
        raise AlreadyDone("This review is already recorded.")


def locked_action(session: Session, model: type[Action], action_id: int) -> Action:
    """The agreed action `action_id` (a row of `model`), locked and read afresh, so that of two
    clicks on its Done button the second sees the first; NotFound when there is none."""
    return rows.by_id(session, model, action_id, missing="That action is unknown.", for_update=True)


def audit_recorded(
    session: Session,
    *,
    key: str,
    actor: str,
    now: datetime,
    before: date | None,
    after: date | None,
    summary: str,
    note: str,
) -> None:
    """The review in the record's audit trail: its next review date moved from `before` to
    `after`, with the `summary` and the reviewer's note."""
    audit.record(
        session,
        key=key,
        actor=actor,
        at=now,
        action="review recorded",
        field="next_review",
        before=before.isoformat() if before else None,
        after=after.isoformat() if after else None,
        note=summary + (f": {note}" if note else ""),
    )


def record_review_button(action_id: str, value: str) -> dict[str, Any]:
    """The primary Record review button; `value` is the carried reference, dumped."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Record review"},
        "action_id": action_id,
        "value": value,
        "style": "primary",
    }


def reminder_blocks(text: str, *, block_id: str, action_id: str, value: str) -> list[Any]:
    """A review reminder: its text, then the Record review button."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": block_id,
            "elements": [record_review_button(action_id, value)],
        },
    ]
