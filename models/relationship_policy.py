"""Customers, satisfaction surveys, complaints and suppliers in the policy file (issue 12):
`[[customers]]`, `[surveys]`, `[complaints]` and `[[suppliers]]`.

A customer names the services (or agreements) it uses and a relationship owner, who hears of
low satisfaction scores and owns its complaints. A supplier names the services and
configuration items it supports and its contracted targets, against which the time records
spend "awaiting supplier" is measured.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from pydantic import Field, field_validator

from models.agreement_policy import _cadence as cadence
from models.policy_types import ChannelRef, Name, SlackRef, Strict
from models.sla_policy import Duration

ReminderDays = list[Annotated[int, Field(ge=0, le=3650)]]


class Reviewed(Strict):
    """A party reviewed on a cadence: the owner is reminded `review_reminders` days before
    each review (the first on `next_review`, later ones one cadence after the last review)."""

    review_every: str | None = None
    next_review: date | None = None
    review_reminders: ReminderDays = [14, 1]

    @field_validator("review_every")
    @classmethod
    def _review_every(cls, value: str | None) -> str | None:
        return cadence(value)


class Customer(Reviewed):
    name: Name
    services: list[Name] = []
    agreements: list[Name] = []
    contact: SlackRef | None = None  # a user or user group
    owner: SlackRef | None = None  # the relationship owner


class SurveyPolicy(Strict):
    """The satisfaction survey sent to a record's reporter when it is resolved or fulfilled."""

    enabled: bool = True
    # At most one survey per person in this span, so busy reporters are not spammed.
    min_interval: Duration = Field(default=timedelta(days=1), validate_default=True)
    # Scores at or below this notify the team lead and the relationship owner.
    low_score: Annotated[int, Field(ge=0, le=5)] = 2
    # Services whose records get no survey.
    off_for: list[Name] = []
    # Records resolved longer ago than this are not surveyed (a bot that was down for weeks,
    # or an install upgrading, does not survey its history).
    within: Duration = Field(default=timedelta(days=3), validate_default=True)


class ComplaintPolicy(Strict):
    channel: ChannelRef | None = None  # where complaints are posted; the incidents channel if unset
    response_target: Duration = Field(default=timedelta(days=2), validate_default=True)
    # The owner is reminded this long before the response target.
    remind_before: list[Duration] = Field(
        default_factory=lambda: [timedelta(days=1), timedelta(hours=2)]
    )


class Supplier(Reviewed):
    name: Name
    contact: str = Field(default="", max_length=200)
    services: list[Name] = []
    items: list[Annotated[str, Field(min_length=1, max_length=120)]] = []  # CI names or keys
    contract: str = Field(default="", max_length=120)  # the contract's reference
    response_target: Duration | None = None
    resolution_target: Duration | None = None
    contract_end: date | None = None
    owner: SlackRef | None = None
    # Days before contract_end the owner is reminded.
    contract_reminders: ReminderDays = [90, 30]


def check_relationships(policy: object) -> None:
    """Customer and supplier names are unique and name services the file defines."""
    services = {s.name.lower() for s in getattr(policy, "services", [])}
    agreements = {a.name.lower() for a in getattr(policy, "agreements", [])}
    for section in ("customers", "suppliers"):
        seen: set[str] = set()
        for index, entry in enumerate(getattr(policy, section, [])):
            if entry.name.lower() in seen:
                raise ValueError(f"{section}[{index}].name: '{entry.name}' is defined twice")
            seen.add(entry.name.lower())
            for position, service in enumerate(entry.services):
                if service.lower() not in services:
                    raise ValueError(
                        f"{section}[{index}].services[{position}]: '{service}' is not one of "
                        "the [[services]]"
                    )
    for index, customer in enumerate(getattr(policy, "customers", [])):
        for position, name in enumerate(customer.agreements):
            if name.lower() not in agreements:
                raise ValueError(
                    f"customers[{index}].agreements[{position}]: '{name}' is not one of the "
                    "[[agreements]]"
                )
    for position, service in enumerate(policy.surveys.off_for):  # type: ignore[attr-defined]
        if service.lower() not in services:
            raise ValueError(
                f"surveys.off_for[{position}]: '{service}' is not one of the [[services]]"
            )
