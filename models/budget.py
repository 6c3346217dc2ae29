"""Budgeting and accounting for services (ISO/IEC 20000-1 clause 6.4): budgets per service and
period in the policy file (`[[sms.budgets]]`), costs recorded from Slack or imported from CSV,
and the 80 % / 100 % alerts, each sent once per budget and period. Money is Decimal with two
places, never a float."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field as PydanticField
from pydantic import field_validator
from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.policy_types import Name, SlackRef, Strict

MAX_AMOUNT = Decimal("999999999999.99")  # a trillion less a cent: ample, and far from 2**63 cents
DEFAULT_COST_CATEGORIES = ["staff", "licences", "hardware", "hosting", "suppliers", "other"]
THRESHOLDS = (80, 100)  # percent of a budget that notify its owner, once per period
_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$", re.IGNORECASE)
PERIOD_HELP = 'a year "2026", a quarter "2026-Q4" or a month "2026-11"'

Money = Annotated[Decimal, PydanticField(gt=0, le=MAX_AMOUNT, decimal_places=2)]


def cents_to_money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def money_to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_exact())


def period_range(text: str) -> tuple[date, date]:
    """[first day, day after the last) of a budget period; ValueError for anything else."""
    found = _PERIOD.match(text.strip())
    if not found:
        raise ValueError(f"'{text}' is not a budget period ({PERIOD_HELP})")
    year = int(found.group(1))
    if not 2000 <= year <= 2999:
        raise ValueError(f"'{text}': the year is out of range")
    if found.group(2):
        first_month, months = 3 * (int(found.group(2)) - 1) + 1, 3
    elif found.group(3):
        first_month, months = int(found.group(3)), 1
        if not 1 <= first_month <= 12:
            raise ValueError(f"'{text}' has no month {first_month}")
    else:
        first_month, months = 1, 12
    end_index = first_month - 1 + months
    end = date(year + end_index // 12, end_index % 12 + 1, 1)
    return date(year, first_month, 1), end


class Budget(Strict):
    """One service's budget for one period; `owner` is told at 80 % and 100 % (default: the
    lead of the service's team)."""

    service: Name
    period: str
    amount: Money
    owner: SlackRef | None = None

    @field_validator("amount")
    @classmethod
    def _two_places(cls, value: Decimal) -> Decimal:
        return value.quantize(Decimal("0.01"))

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        period_range(value)
        return value.strip().upper()

    @property
    def starts(self) -> date:
        return period_range(self.period)[0]

    @property
    def ends(self) -> date:
        return period_range(self.period)[1]


class Cost(SQLModel, table=True):
    """One cost booked against a service: recorded with /cost or imported from a file."""

    __tablename__ = "cost"
    __table_args__ = (Index("ix_cost_service_incurred", "service", "incurred_on"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=60)
    # Whole cents: exact on SQLite (which has no decimal type) and PostgreSQL alike, and
    # summed exactly by the database.
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    category: str = Field(max_length=60)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    incurred_on: date = Field(index=True)
    source: str = Field(max_length=200)  # "slack", or "import costs.csv line 4"
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(sa_type=UTCDateTime, index=True)

    @property
    def amount(self) -> Decimal:
        return cents_to_money(self.amount_cents)


class BudgetAlert(SQLModel, table=True):
    """A budget crossing a threshold, recorded once per (service, period, threshold): the
    unique key is what makes the owner's notification go out once per period."""

    __tablename__ = "budget_alert"
    __table_args__ = (
        UniqueConstraint("service", "period", "threshold", name="uq_budget_alert_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=60)
    period: str = Field(max_length=10)
    threshold: int
    budget_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    actual_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    owner: str | None = Field(default=None, max_length=32)
    alerted_at: datetime = Field(sa_type=UTCDateTime, index=True)

    @property
    def key(self) -> str:
        return f"BGT-{self.id}"
