"""Management reviews (MR-n, ISO/IEC 20000-1 4.5.4.3): top management's review of the whole
SMS on a cadence, with the decisions taken and the actions agreed (each with an owner and a
due date, reminded and listed until done); and effort logged on records, which becomes cost
(models.budget.Cost, category "effort")."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.improvement import TEXT_MAX, SmsRecord
from models.record_message import message_indexes

ACTION_MAX = 500
ACTIONS_MAX = 3


class ReviewStatus(StrEnum):
    PLANNED = "planned"  # due on planned_on; the owner is reminded with its inputs
    HELD = "held"  # recorded: attendees, decisions, actions
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ManagementReview(SmsRecord, table=True):
    """One management review, due on `planned_on`. The sweep creates the next one when none
    is planned; planned_on is unique, so two instances create one."""

    __tablename__ = "management_review"
    __table_args__ = (
        UniqueConstraint("planned_on", name="uq_management_review_planned_on"),
        UniqueConstraint("submission_id", name="uq_management_review_submission_id"),
        *message_indexes("management_review"),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(max_length=32)
    planned_on: date = Field(index=True)
    status: str = Field(default=ReviewStatus.PLANNED.value, max_length=20, index=True)
    held_on: date | None = Field(default=None)
    attendees: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    decisions: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The inputs as the bot prepared them when the review was recorded (the evidence).
    inputs: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_by: str | None = Field(default=None, max_length=32)
    recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    submission_id: str | None = Field(default=None, max_length=64)

    @property
    def key(self) -> str:
        return f"MR-{self.id}"

    @property
    def state(self) -> ReviewStatus:
        return ReviewStatus(self.status)


class ManagementReviewAction(SQLModel, table=True):
    """An action agreed at a management review: reminded to its owner when due (MRA-n in the
    outbox and the audit trail) and listed until done."""

    __tablename__ = "management_review_action"

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="management_review.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    owner: str = Field(max_length=32, index=True)
    due_on: date = Field(index=True)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    done_by: str | None = Field(default=None, max_length=32)

    @property
    def key(self) -> str:
        return f"MRA-{self.id}"


class EffortEntry(SQLModel, table=True):
    """Minutes worked on a record (INC/REQ/CHG/PRB), at the rate of the record's team when
    logged; its cost is booked as a Cost of category "effort" (cost_id) when there is a rate
    and a service to book it against."""

    __tablename__ = "effort_entry"

    id: int | None = Field(default=None, primary_key=True)
    record_key: str = Field(max_length=32, index=True)
    minutes: int
    team: str | None = Field(default=None, max_length=60)
    service: str | None = Field(default=None, max_length=60)
    rate_cents: int = Field(default=0)  # per hour
    cost_id: int | None = Field(default=None, foreign_key="cost.id")
    note: str = Field(default="", max_length=TEXT_MAX)
    logged_by: str = Field(max_length=32)
    logged_at: datetime = Field(sa_type=UTCDateTime, index=True)
