"""Management reviews and effort rates in the policy file: `[sms.management_review]` (who
holds the review, how often, when first, when reminded) and `[sms] hourly_rate` with
`[sms.hourly_rates]` per team (what an hour of effort logged on a record costs)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import Field, field_validator

from models.agreement_policy import _cadence
from models.policy_types import SlackRef, Strict
from models.sla_policy import Duration

# An hourly rate: positive, at most two decimals, under a million.
HourlyRate = Annotated[Decimal, Field(gt=0, lt=1_000_000, decimal_places=2)]


class ManagementReviewPlan(Strict):
    """Management reviews of the whole SMS (ISO/IEC 20000-1 4.5.4.3), held on a cadence by
    their owner, who is reminded with the inputs the bot prepares."""

    owner: SlackRef
    every: str = "half-yearly"
    first: date | None = None  # the first review's date; default: one cadence after first seen
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
        from models.sms_policy import _remind_days

        return _remind_days(value)

    @field_validator("owner")
    @classmethod
    def _a_person(cls, value: str) -> str:
        from models.sms_policy import _one_person

        return _one_person(value, "the review's owner")
