"""What every planned activity of the SMS has in the policy file: how often (`every`), when
first (`first`) and when its owner is reminded (`remind_before`). Internal audits
(`[[sms.audits]]`) and management reviews (`[sms.management_review]`) build on it."""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import Field, field_validator

from models.agreement_policy import _cadence, advance_review
from models.policy_types import Strict
from models.sla_policy import Duration


def remind_days(value: list[timedelta]) -> list[timedelta]:
    """Whole days before the date, latest first, each once."""
    for before in value:
        if before < timedelta(days=1) or before.seconds:
            raise ValueError('remind_before takes whole days, like "14d" or "1d"')
    return sorted(set(value), reverse=True)


def one_person(value: str, who: str) -> str:
    """A Slack user id, not a user group: the one person who is reminded."""
    if value.startswith("S"):
        raise ValueError(f"'{value}' is a user group; {who} is one person (U…/W…), who is reminded")
    return value


class CadencedPlan(Strict):
    """Held on a cadence (`every`: monthly, quarterly, half-yearly, yearly or a duration)."""

    every: str = "yearly"
    first: date | None = None  # the first date; default: one cadence after first seen
    remind_before: list[Duration] = Field(
        default_factory=lambda: [timedelta(days=14), timedelta(days=1)]
    )

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        cleaned = _cadence(value)
        assert cleaned is not None
        return cleaned

    @field_validator("remind_before")
    @classmethod
    def _remind_before(cls, value: list[timedelta]) -> list[timedelta]:
        return remind_days(value)

    def next_date(self, last: date | None, today: date) -> date:
        """The date after `last` by the cadence; with none held yet, `first`, else one
        cadence from today."""
        if last is not None:
            return advance_review(last, self.every)
        return self.first or advance_review(today, self.every)
