"""The service management system in the policy file (`[sms]`, ISO/IEC 20000-1 clause 4): the
policy and its objectives, who owns each process, and the controlled documents with their
review cadence. Objectives and documents are reviewed like agreements (services.sms_reviews).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from models.agreement_policy import _cadence
from models.budget import DEFAULT_COST_CATEGORIES, Budget
from models.cadence_policy import CadencedPlan
from models.cadence_policy import one_person as _one_person
from models.cadence_policy import remind_days as _remind_days
from models.management_review_policy import HourlyRate, ManagementReviewPlan
from models.policy_types import ChannelRef, Name, SlackRef, Strict
from models.sla_policy import Duration

# What the bot can measure for an objective, over the current calendar quarter so far.
# `resolution` / `response`: SLA targets met of those settled (all priorities, or `.P1`…`.P5`);
# `requests_on_time`: requests fulfilled within target; `change_success`: changes reviewed
# successful; `availability.NAME`: a service's availability.
_MEASURE = re.compile(
    r"^(?:(?:resolution|response)(?:\.P[1-5])?|requests_on_time|change_success|"
    r"availability\.[^\s]{1,60})$"
)
MEASURE_HELP = (
    '"resolution", "response" (optionally ".P1" to ".P5"), "requests_on_time", '
    '"change_success" or "availability.SERVICE"'
)

PROCESSES: dict[str, str] = {
    "incident": "Incident management",
    "request": "Service request management",
    "problem": "Problem management",
    "change": "Change management",
    "release": "Release and deployment",
    "configuration": "Configuration management",
    "service_level": "Service level management",
    "reporting": "Service reporting",
    "availability_continuity": "Availability and continuity",
    "capacity": "Capacity management",
    "budgeting": "Budgeting and accounting",
    "information_security": "Information security",
    "relationships": "Business relationships",
    "suppliers": "Supplier management",
}


class Reviewed(Strict):
    """Something with an owner who reviews it on a cadence (or on a set date)."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    owner: SlackRef
    review_every: str | None = None
    next_review: date | None = None
    remind_before: list[Duration] = Field(
        default_factory=lambda: [timedelta(days=14), timedelta(days=1)]
    )

    @field_validator("review_every")
    @classmethod
    def _review_every(cls, value: str | None) -> str | None:
        return _cadence(value)

    @field_validator("remind_before")
    @classmethod
    def _remind_before(cls, value: list[timedelta]) -> list[timedelta]:
        return _remind_days(value)

    @field_validator("owner")
    @classmethod
    def _a_person(cls, value: str) -> str:
        return _one_person(value, "an owner")

    @model_validator(mode="after")
    def _has_a_date(self) -> Reviewed:
        if self.review_every is None and self.next_review is None:
            raise ValueError(
                f"'{self.name}' needs review_every (a cadence) or next_review (a date)"
            )
        return self


class Objective(Reviewed):
    """A measurable objective of the SMS; `target` is a percentage the measure must reach."""

    target: Annotated[float, Field(ge=0, le=100)] | None = None
    measure: str | None = None
    review_every: str | None = "quarterly"

    @field_validator("measure")
    @classmethod
    def _measure(cls, value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = value.strip()
        if cleaned.lower().startswith(("resolution", "response")):
            head, dot, tail = cleaned.partition(".")
            cleaned = head.lower() + (dot + tail.upper() if dot else "")
        elif not cleaned.lower().startswith("availability."):
            cleaned = cleaned.lower()
        if not _MEASURE.match(cleaned):
            raise ValueError(f"'{value}' is not a measure the bot knows ({MEASURE_HELP})")
        return cleaned


class Document(Reviewed):
    """A controlled document: where it lives, its version, who owns and reviews it."""

    link: Annotated[str, Field(max_length=500)] = ""
    version: Annotated[str, Field(min_length=1, max_length=30)] = "1"
    review_every: str | None = "yearly"


class CapacityPlan(Document):
    """A capacity plan (ISO/IEC 20000-1 6.5): a document reviewed like the others, by default
    every quarter."""

    review_every: str | None = "quarterly"


class AuditPlan(CadencedPlan):
    """An internal audit held on a cadence: what it covers and who audits."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    scope: Annotated[str, Field(min_length=1, max_length=500)]
    auditor: SlackRef

    @field_validator("auditor")
    @classmethod
    def _a_person(cls, value: str) -> str:
        return _one_person(value, "an auditor")


class ProcessOwners(Strict):
    """The person (or group) owning each process; an unset one is shown as unassigned."""

    incident: SlackRef | None = None
    request: SlackRef | None = None
    problem: SlackRef | None = None
    change: SlackRef | None = None
    release: SlackRef | None = None
    configuration: SlackRef | None = None
    service_level: SlackRef | None = None
    reporting: SlackRef | None = None
    availability_continuity: SlackRef | None = None
    capacity: SlackRef | None = None
    budgeting: SlackRef | None = None
    information_security: SlackRef | None = None
    relationships: SlackRef | None = None
    suppliers: SlackRef | None = None


class SmsPolicy(Strict):
    # Where internal audits, nonconformities and improvements are posted.
    channel: ChannelRef = "service-management"
    policy: Annotated[str, Field(max_length=3000)] = ""
    policy_owner: SlackRef | None = None
    process_owners: ProcessOwners = ProcessOwners()
    objectives: list[Objective] = []
    documents: list[Document] = []
    audits: list[AuditPlan] = []
    currency: Annotated[str, Field(min_length=1, max_length=8)] = "EUR"
    cost_categories: list[Name] = Field(
        default_factory=lambda: list(DEFAULT_COST_CATEGORIES), min_length=1
    )
    budgets: list[Budget] = []
    capacity_plans: list[CapacityPlan] = []
    # Management reviews on a cadence (models.management_review_policy).
    management_review: ManagementReviewPlan | None = None
    # What an hour of effort logged on a record costs: per team, else this rate; none: effort
    # is logged but costs nothing.
    hourly_rate: HourlyRate | None = None
    hourly_rates: dict[str, HourlyRate] = {}

    @model_validator(mode="after")
    def _unique_names(self) -> SmsPolicy:
        sections: list[tuple[str, list[Any]]] = [
            ("objectives", list(self.objectives)),
            ("documents", list(self.documents)),
            ("audits", list(self.audits)),
            ("capacity_plans", list(self.capacity_plans)),
        ]
        seen_budgets: set[tuple[str, str]] = set()
        for index, budget in enumerate(self.budgets):
            if (budget.service.lower(), budget.period) in seen_budgets:
                raise ValueError(
                    f"budgets[{index}]: {budget.service} has two budgets for {budget.period}"
                )
            seen_budgets.add((budget.service.lower(), budget.period))
        for section, items in sections:
            seen: set[str] = set()
            for index, item in enumerate(items):
                if item.name.lower() in seen:
                    raise ValueError(f"{section}[{index}].name: '{item.name}' is defined twice")
                seen.add(item.name.lower())
        return self

    def item(
        self, kind: Literal["objective", "document", "capacity"], name: str
    ) -> Reviewed | None:
        """The objective, document or capacity plan called `name` (any letter case), or None."""
        lowered = name.strip().lower()
        items: list[Reviewed] = list(
            {"objective": self.objectives, "capacity": self.capacity_plans}.get(
                kind, self.documents
            )
        )
        return next((item for item in items if item.name.lower() == lowered), None)
