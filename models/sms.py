"""The service management system's objectives and controlled documents as the store knows
them: one row each (its current version, next review and the reminders planned for it), and
every review recorded. Their terms live in the policy file (`[sms]`); these rows are the
evidence that they were reviewed and versioned."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.carried import Carried


class SmsItemKind(StrEnum):
    OBJECTIVE = "objective"
    DOCUMENT = "document"
    CAPACITY_PLAN = "capacity"

    @property
    def prefix(self) -> str:
        return {"objective": "OBJ", "capacity": "CPL"}.get(self.value, "DOC")

    @property
    def label(self) -> str:
        """What people read: "objective", "document", "capacity plan"."""
        return "capacity plan" if self is SmsItemKind.CAPACITY_PLAN else self.value


class SmsItem(SQLModel, table=True):
    """An objective or a controlled document: its version (documents), its next review, and
    the review date its reminders were last planned for (so the sweep re-plans only what
    moved)."""

    __tablename__ = "sms_item"
    __table_args__ = (UniqueConstraint("kind", "name", name="uq_sms_item_kind_name"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=12)
    name: str = Field(max_length=100)
    version: str | None = Field(default=None, max_length=30)
    # The version the policy file said when last read: a change there is a new version.
    file_version: str | None = Field(default=None, max_length=30)
    file_next_review: date | None = Field(default=None)
    next_review: date | None = Field(default=None, index=True)
    planned_for: date | None = Field(default=None)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def key(self) -> str:
        """The audit trail's and the outbox's key (DOC-3, OBJ-2)."""
        return f"{SmsItemKind(self.kind).prefix}-{self.id}"


class SmsReview(SQLModel, table=True):
    """One review of an objective or document: when, the outcome, the version it left, a note."""

    __tablename__ = "sms_review"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(
        sa_column=Column(Integer, ForeignKey("sms_item.id"), nullable=False, index=True)
    )
    reviewed_on: date
    outcome: str = Field(max_length=30)
    version: str | None = Field(default=None, max_length=30)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    recorded_by: str = Field(max_length=32)
    recorded_at: datetime = Field(sa_type=UTCDateTime, index=True)
    next_review: date | None = Field(default=None)


class SmsReviewRef(Carried):
    """Which objective or document a Record review button or form is about, and (in the form)
    the reminder it came from."""

    kind: SmsItemKind
    name: str
    channel: str | None = None
    ts: str | None = None
