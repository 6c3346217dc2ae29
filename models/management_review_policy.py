"""Management reviews and effort rates in the policy file: `[sms.management_review]` (who
holds the review, how often, when first, when reminded) and `[sms] hourly_rate` with
`[sms.hourly_rates]` per team (what an hour of effort logged on a record costs)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, field_validator

from models.cadence_policy import CadencedPlan, one_person
from models.policy_types import SlackRef

# An hourly rate: positive, at most two decimals, under a million.
HourlyRate = Annotated[Decimal, Field(gt=0, lt=1_000_000, decimal_places=2)]


class ManagementReviewPlan(CadencedPlan):
    """Management reviews of the whole SMS (ISO/IEC 20000-1 4.5.4.3), held on a cadence by
    their owner, who is reminded with the inputs the bot prepares."""

    owner: SlackRef
    every: str = "half-yearly"

    @field_validator("owner")
    @classmethod
    def _a_person(cls, value: str) -> str:
        return one_person(value, "the review's owner")
