"""What every kind of review shares (agreements, SMS objectives and documents, customers and
suppliers, management reviews): the date a review was held, read from its form, and the
Record review button its reminders carry (built here because the sweeps queue the reminders;
each handler listens for its own action id)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from services.changes import FieldError
from services.due_reminders import form_date

# A review recorded late is fine; one dated more than a year back is most likely a typo.
OLDEST = timedelta(days=366)


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
