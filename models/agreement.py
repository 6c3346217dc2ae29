"""Service level agreements as the store knows them: one row per agreement (its current version
and next review), every version it has had, and every review recorded.

The policy file is the source of an agreement's terms; these rows are the evidence that the
terms were controlled: what each version said and when it was recorded, and who reviewed it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.carried import Carried

KEY_PREFIX = "SLA"


class AgreementRecord(SQLModel, table=True):
    """An agreement's standing: which version is current and when it is next reviewed."""

    __tablename__ = "agreement"
    __table_args__ = (UniqueConstraint("name", name="uq_agreement_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    version: int = Field(default=1)
    next_review: date | None = Field(default=None, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def key(self) -> str:
        """The audit trail's and the outbox's key for this agreement (SLA-3)."""
        return f"{KEY_PREFIX}-{self.id}"


class AgreementVersion(SQLModel, table=True):
    """One version of an agreement's terms, as canonical JSON. Never updated."""

    __tablename__ = "agreement_version"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_agreement_version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, index=True)
    version: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class AgreementReview(SQLModel, table=True):
    """A review of an agreement with its customer: when, the outcome, a note, and who said so."""

    __tablename__ = "agreement_review"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, index=True)
    reviewed_on: date
    outcome: str = Field(max_length=30)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    recorded_by: str = Field(max_length=32)
    recorded_at: datetime = Field(sa_type=UTCDateTime, index=True)
    next_review: date | None = Field(default=None)


class ReviewRef(Carried):
    """Which agreement a Record review button or the review form is about, and (in the form)
    the reminder it came from, to replace its button once the review is recorded."""

    agreement: str
    channel: str | None = None
    ts: str | None = None
