"""Service changes (ISO/IEC 20000-1 clause 5): what a change of type "service" proposes (a new,
changed or removed service with its requirements, design and acceptance criteria) and the
acceptance tests recorded against those criteria before it may be implemented."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime

SERVICE_NAME_MAX = 100
CRITERIA_MAX = 20  # the acceptance form has two inputs per criterion; a modal holds 100 blocks
CRITERION_MAX = 300
TEXT_MAX = 3000


class ServiceAction(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    REMOVED = "removed"

    @property
    def label(self) -> str:
        return {"new": "New service", "changed": "Changed service", "removed": "Removed service"}[
            self.value
        ]


class ServiceChange(SQLModel, table=True):
    """The service part of one change of type "service" (one row per change)."""

    __tablename__ = "service_change"

    change_id: int = Field(
        sa_column=Column(Integer, ForeignKey("change.id", ondelete="CASCADE"), primary_key=True)
    )
    action: str = Field(max_length=10)
    service: str = Field(max_length=SERVICE_NAME_MAX, index=True)
    team: str | None = Field(default=None, max_length=60)
    requirements: str = Field(sa_column=Column(Text, nullable=False))
    design: str = Field(sa_column=Column(Text, nullable=False))
    # One criterion per line, as typed (trimmed); the acceptance test is recorded against each.
    criteria: str = Field(sa_column=Column(Text, nullable=False))
    agreement: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    capacity: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    budget: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # Set once the change completed and the CMDB and the service list followed it.
    applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    item_key: str | None = Field(default=None, max_length=32)

    @property
    def service_action(self) -> ServiceAction:
        return ServiceAction(self.action)

    @property
    def criteria_list(self) -> list[str]:
        return [line for line in self.criteria.split("\n") if line]


class AcceptanceResult(SQLModel, table=True):
    """One criterion's result in one recorded acceptance test. The latest result of each
    criterion counts; a form delivered twice records once (unique submission and criterion)."""

    __tablename__ = "acceptance_result"
    __table_args__ = (
        UniqueConstraint("submission_id", "criterion", name="uq_acceptance_result_submission"),
    )

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("change.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    criterion: int  # its position (1-based) in the change's criteria
    passed: bool = Field(sa_column=Column(Boolean, nullable=False))
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    recorded_by: str = Field(max_length=32)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    submission_id: str = Field(max_length=64)


@dataclass(frozen=True)
class ServiceChangeInput:
    """What a person typed into the service change form; the service validates it."""

    action: str
    service: str
    requirements: str
    design: str
    criteria: str
    risk: str | None = None
    team: str | None = None
    agreement: str = ""
    capacity: str = ""
    budget: str = ""
    description: str = ""
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    backout_plan: str = ""
    implementer: str | None = None
