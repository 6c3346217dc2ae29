"""Due dates of the service-management records (services.due_reminders): which dates a form
may give, in plain words next to the right field, and no reminders without a date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services import due_reminders, inserts, notifications
from services.clock import ManualClock
from services.errors import FieldError

TODAY = date(2026, 11, 27)  # the clock fixture's day


def _refused(value: object, clock: ManualClock, **field: str) -> FieldError:
    with pytest.raises(FieldError) as refused:
        due_reminders.parse_due(value, clock.now(), **field)  # type: ignore[arg-type]
    return refused.value


def test_today_up_to_three_years_of_days_ahead_is_a_due_date(clock: ManualClock) -> None:
    assert due_reminders.parse_due(TODAY, clock.now()) == TODAY
    assert due_reminders.parse_due("2026-11-27", clock.now()) == TODAY
    farthest = TODAY + timedelta(days=3 * 366)
    assert due_reminders.parse_due(farthest.isoformat(), clock.now()) == farthest


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "Give the date it is due."),
        ("next week", "'next week' is not a date."),
        ("<b>" + "9" * 60, "'&lt;b&gt;" + "9" * 37 + "' is not a date."),
        (TODAY - timedelta(days=1), "The due date is in the past."),
        ("2026-11-26", "The due date is in the past."),
        (
            TODAY + timedelta(days=3 * 366 + 1),
            "That is more than three years away; check the year.",
        ),
    ],
)
def test_other_dates_are_refused_next_to_their_field(
    value: object, message: str, clock: ManualClock
) -> None:
    refused = _refused(value, clock)
    assert (refused.field, str(refused)) == ("due_on", message)
    assert _refused(value, clock, field="action_due").field == "action_due"


def test_no_reminders_without_a_due_date_or_an_owner(database, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        assert (
            due_reminders.plan(
                session, key="NC-1", owner="U1", due_on=None, what="NC-1", now=clock.now()
            )
            == []
        )
        assert (
            due_reminders.plan(
                session, key="NC-2", owner=None, due_on=TODAY, what="NC-2", now=clock.now()
            )
            == []
        )
        assert due_reminders.plan(
            session, key="NC-3", owner="U1", due_on=date(2026, 11, 29), what="NC-3", now=clock.now()
        ) == ["due:-1d@20261128T090000Z", "due:0d@20261129T090000Z", "overdue:7d@20261206T090000Z"]
    with database.session() as session:
        for key in ("NC-1", "NC-2"):
            assert notifications.for_record(session, record_key=key) == []
        texts = [
            (r.recipient, r.text) for r in notifications.for_record(session, record_key="NC-3")
        ]
    assert texts == [
        ("U1", ":hourglass_flowing_sand: NC-3 is due tomorrow (Sun 29 Nov 2026)."),
        ("U1", ":hourglass_flowing_sand: NC-3 is due today."),
        ("U1", ":hourglass_flowing_sand: NC-3 was due on Sun 29 Nov 2026 and is a week late."),
    ]


def test_form_text_is_trimmed_and_refused_next_to_its_field() -> None:
    limit = due_reminders.TEXT_MAX
    assert (
        due_reminders.form_text("  " + "x" * limit + "  ", what="it", field="note") == "x" * limit
    )
    assert due_reminders.form_text(None, what="it", field="note", required=False) == ""
    with pytest.raises(FieldError, match=r"^Give the evidence\.$") as missing:
        due_reminders.form_text("   ", what="the evidence", field="evidence")
    assert missing.value.field == "evidence"
    with pytest.raises(FieldError, match=f"^Keep the note under {limit} characters") as long:
        due_reminders.form_text("x" * (limit + 1), what="the note", field="note")
    assert long.value.field == "note"


def test_a_form_delivered_twice_is_stored_once_and_said_so(database, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    from models.improvement import Improvement

    def draft() -> Improvement:
        return Improvement(
            title="Shorter change reviews",
            process="change",
            created_by="U1",
            created_at=clock.now(),
            updated_at=clock.now(),
            submission_id="view-1",
        )

    with database.session() as session:
        first, created = inserts.insert_submitted(session, draft())
        again, created_again = inserts.insert_submitted(session, draft())
        assert (created, created_again) == (True, False)
        assert again.id == first.id
