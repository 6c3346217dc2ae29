"""The date a review was held, as every review form reads it, and the Record review button."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models.management_review import ManagementReviewAction
from models.relationship import ReviewAction
from services import review_common
from services.errors import FieldError, NotFound

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("given", [date(2026, 11, 29), "2026-11-29", date(2025, 11, 28)])
def test_today_and_a_year_back_are_accepted(given):
    expected = given if isinstance(given, date) else date(2026, 11, 29)
    assert review_common.held_on(given, NOW) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (None, "Give the date the review was held."),
        (date(2026, 11, 30), "That is in the future; record the review once it is held."),
        (date(2025, 11, 27), "That is more than a year ago; check the year."),
        ("yesterday", "'yesterday' is not a date."),
        ("<!channel>" + "9" * 60, "'&lt;!channel&gt;" + "9" * 30 + "' is not a date."),
    ],
)
def test_a_bad_date_names_the_field(given, message):
    with pytest.raises(FieldError, match=f"^{message}$".replace("?", "\\?")) as raised:
        review_common.held_on(given, NOW, field="reviewed_on")
    assert raised.value.field == "reviewed_on"


def test_the_reminder_carries_its_text_and_one_primary_record_review_button():
    blocks = review_common.reminder_blocks("Due *soon*", block_id="b", action_id="a", value="v")
    assert blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Due *soon*"}},
        {
            "type": "actions",
            "block_id": "b",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Record review"},
                    "action_id": "a",
                    "value": "v",
                    "style": "primary",
                }
            ],
        },
    ]


@pytest.mark.parametrize("model", [ManagementReviewAction, ReviewAction])
def test_a_done_button_of_an_action_that_is_not_there_is_told_so(database, model):
    with database.session() as session, pytest.raises(NotFound, match="^That action is unknown.$"):
        review_common.locked_action(session, model, 424242)
