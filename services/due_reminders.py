"""What the service-management record kinds (nonconformities, improvements, audits) share in
their services: reading a form's text and due date, storing a submitted form once, and
reminders of a record's due date (a corrective action, an approved improvement) to its
owner, through the outbox: the day before, on the day, and a week late. Planned in the same
transaction as the move that sets the date, withdrawn by the move that finishes the work
(services.reminders cancels what no longer applies), so no sweep has to look for them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from services import reminders
from services.errors import FieldError
from services.mrkdwn import user_text

REMIND_AT = time(9, 0)
# (stage, days from the due date)
STAGES = (("due:-1d", -1), ("due:0d", 0), ("overdue:7d", 7))
TEXT_MAX = 3000
FARTHEST = timedelta(days=3 * 366)


def form_date(value: date | str | None, *, field: str) -> date | None:
    """A form's date (a datepicker's ISO date, or already a date); None when not given. Text
    that is no date is a FieldError naming `field`."""
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(field, f"'{user_text(value[:40])}' is not a date.") from None


def parse_due(value: date | str | None, now: datetime, *, field: str = "due_on") -> date:
    """A due date from a form (a datepicker's ISO date): today or later, within three years."""
    value = form_date(value, field=field)
    if value is None:
        raise FieldError(field, "Give the date it is due.")
    if value < now.date():
        raise FieldError(field, "The due date is in the past.")
    if value > now.date() + FARTHEST:
        raise FieldError(field, "That is more than three years away; check the year.")
    return value


def form_text(value: str | None, *, what: str, field: str, required: bool = True) -> str:
    """A form's free text, trimmed: required unless said otherwise, at most TEXT_MAX long."""
    text = (value or "").strip()
    if required and not text:
        raise FieldError(field, f"Give {what}.")
    if len(text) > TEXT_MAX:
        raise FieldError(field, f"Keep {what} under {TEXT_MAX} characters.")
    return text


def plan(
    session: Session,
    *,
    key: str,
    owner: str | None,
    due_on: date | None,
    what: str,
    now: datetime,
) -> list[str]:
    """Make `key`'s pending due-date reminders match `due_on` (none when it is None or there
    is no owner). `what` is already-escaped mrkdwn naming the work ("NC-3's corrective
    action: …"). Returns the stages newly planned."""
    planned = []
    if due_on is not None and owner:
        planned = [
            reminders.Planned(
                stage,
                datetime.combine(due_on + timedelta(days=offset), REMIND_AT, tzinfo=UTC),
                owner,
            )
            for stage, offset in STAGES
        ]

    def text(p: reminders.Planned) -> str:
        assert due_on is not None
        when = {
            "due:-1d": f"is due tomorrow ({due_on:%a %d %b %Y})",
            "due:0d": "is due today",
            "overdue:7d": f"was due on {due_on:%a %d %b %Y} and is a week late",
        }[p.stage]
        return f":hourglass_flowing_sand: {what} {when}."

    return reminders.sync(session, record_key=key, plan=planned, text=text, now=now)
