"""Customer and supplier records (issue 12): satisfaction surveys, complaints (CMP-n),
compliments, and which supplier a record waits on."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.record_message import RecordMessage, message_indexes

COMPLAINT_PREFIX = "CMP"
SUMMARY_MAX = 150
TEXT_MAX = 3000


class SurveyStatus(StrEnum):
    SENT = "sent"  # the DM is in the outbox; no answer yet
    ANSWERED = "answered"
    SKIPPED = "skipped"  # not sent: the person was surveyed recently, or nobody to ask


class Survey(SQLModel, table=True):
    """One row per resolved incident or fulfilled request: UNIQUE(record_key) is what makes a
    survey go out once, across restarts and replicas."""

    __tablename__ = "survey"
    __table_args__ = (
        UniqueConstraint("record_key", name="uq_survey_record_key"),
        # The min-interval check: a person's latest survey.
        Index("ix_survey_recipient_created", "recipient", "created_at"),
        # /servicedesk csat over a period.
        Index("ix_survey_created_status", "created_at", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    record_key: str = Field(max_length=32)
    recipient: str = Field(max_length=32)
    service: str | None = Field(default=None, max_length=100, index=True)
    team: str | None = Field(default=None, max_length=60, index=True)
    customer: str | None = Field(default=None, max_length=60, index=True)
    status: str = Field(max_length=12)
    created_at: datetime = Field(sa_type=UTCDateTime)
    score: int | None = Field(default=None)
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    follow_up: str | None = Field(default=None, max_length=32)


class ComplaintStatus(StrEnum):
    NEW = "new"
    INVESTIGATING = "investigating"
    RESPONDED = "responded"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


OPEN_COMPLAINTS = (ComplaintStatus.NEW, ComplaintStatus.INVESTIGATING, ComplaintStatus.RESPONDED)


class Complaint(RecordMessage, table=True):
    __tablename__ = "complaint"
    __table_args__ = (
        UniqueConstraint("submission_id", name="uq_complaint_submission_id"),
        *message_indexes("complaint"),
    )

    id: int | None = Field(default=None, primary_key=True)
    summary: str = Field(max_length=SUMMARY_MAX)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    service: str | None = Field(default=None, max_length=100, index=True)
    customer: str | None = Field(default=None, max_length=60, index=True)
    complainant: str = Field(max_length=32, index=True)
    owner: str | None = Field(default=None, max_length=32, index=True)
    status: str = Field(default=ComplaintStatus.NEW.value, max_length=20, index=True)
    response_due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    response: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    from_record: str | None = Field(default=None, max_length=32, index=True)
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    submission_id: str | None = Field(default=None, max_length=64)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def key(self) -> str:
        return f"{COMPLAINT_PREFIX}-{self.id}"

    @property
    def state(self) -> ComplaintStatus:
        return ComplaintStatus(self.status)


class Compliment(SQLModel, table=True):
    __tablename__ = "compliment"
    __table_args__ = (UniqueConstraint("submission_id", name="uq_compliment_submission_id"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str | None = Field(default=None, max_length=100, index=True)
    team: str | None = Field(default=None, max_length=60, index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    given_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    submission_id: str | None = Field(default=None, max_length=64)


class SupplierWait(SQLModel, table=True):
    """Which supplier a record on hold "awaiting supplier" waits on, and their ticket."""

    __tablename__ = "supplier_wait"
    __table_args__ = (UniqueConstraint("record_key", name="uq_supplier_wait_record_key"),)

    id: int | None = Field(default=None, primary_key=True)
    record_key: str = Field(max_length=32)
    supplier: str = Field(max_length=60, index=True)
    ticket_ref: str = Field(default="", max_length=120)
    set_by: str = Field(max_length=32)
    set_at: datetime = Field(sa_type=UTCDateTime)


class PartyKind(StrEnum):
    CUSTOMER = "customer"
    SUPPLIER = "supplier"


class RelationshipReview(SQLModel, table=True):
    """A service review held with a customer, or a review of a supplier."""

    __tablename__ = "relationship_review"
    __table_args__ = (
        UniqueConstraint("submission_id", name="uq_relationship_review_submission_id"),
        Index("ix_relationship_review_party", "party_kind", "party", "reviewed_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    party_kind: str = Field(max_length=10)
    party: str = Field(max_length=60)
    reviewed_on: date
    attendees: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    outcome: str = Field(sa_column=Column(Text, nullable=False))
    recorded_by: str = Field(max_length=32)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    next_review: date | None = Field(default=None)
    submission_id: str | None = Field(default=None, max_length=64)


class ReviewAction(SQLModel, table=True):
    """An action agreed at a review: reminded to its owner when due, listed until done."""

    __tablename__ = "review_action"

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="relationship_review.id", index=True)
    party_kind: str = Field(max_length=10)
    party: str = Field(max_length=60, index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    owner: str = Field(max_length=32, index=True)
    due_on: date = Field(index=True)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    done_by: str | None = Field(default=None, max_length=32)
