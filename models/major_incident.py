"""Major incidents: the declaration (its channel and roles), the timeline, and the post-incident
review (PIR-n) with its follow-up actions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.record_message import RecordMessage, message_indexes

REASON_MAX = 500
UPDATE_FIELD_MAX = 2000
TIMELINE_TEXT_MAX = 3000
REVIEW_FIELD_MAX = 3000
ACTION_MAX = 300
REVIEW_PREFIX = "PIR"


class Role(StrEnum):
    COMMANDER = "commander"
    COMMS_LEAD = "comms_lead"

    @property
    def label(self) -> str:
        return {"commander": "Incident commander", "comms_lead": "Communications lead"}[self.value]


UNOPENED = text("channel_id IS NULL AND channel_error IS NULL AND ended_at IS NULL")


class MajorIncident(SQLModel, table=True):
    """One incident declared major: where it is coordinated, who leads it, when the next
    status update is due."""

    __tablename__ = "major_incident"
    __table_args__ = (
        # The announce sweep's read: declared, its channel neither created nor refused.
        Index(
            "ix_major_incident_unopened",
            "declared_at",
            sqlite_where=UNOPENED,
            postgresql_where=UNOPENED,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_key: str = Field(max_length=32, unique=True)
    declared_at: datetime = Field(sa_type=UTCDateTime)
    declared_by: str = Field(max_length=32)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # The dedicated channel (None until Slack created it, or when it refused: channel_error).
    channel_id: str | None = Field(default=None, max_length=32, index=True)
    channel_name: str | None = Field(default=None, max_length=80)
    channel_error: str | None = Field(default=None, max_length=200)
    # Set while a process creates the channel, so two declarations never create two.
    channel_claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The incident's live message mirrored in the dedicated channel.
    summary_ts: str | None = Field(default=None, max_length=32)
    commander: str | None = Field(default=None, max_length=32, index=True)
    comms_lead: str | None = Field(default=None, max_length=32)
    next_update_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_update_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The incident was restricted after its channel was named: the channel carries a neutral
    # name and topic and a redacted summary until the restriction is lifted.
    channel_redacted: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class TimelineKind(StrEnum):
    UPDATE = "update"
    MARKED = "marked"
    NOTE = "note"


class TimelineEntry(SQLModel, table=True):
    """What the timeline keeps besides the audit trail: status updates and marked messages."""

    __tablename__ = "timeline_entry"
    __table_args__ = (UniqueConstraint("record_key", "source_ts", name="uq_timeline_source"),)

    id: int | None = Field(default=None, primary_key=True)
    record_key: str = Field(max_length=32, index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=32)
    kind: str = Field(max_length=20)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    impact: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_steps: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A message marked with "Add to timeline": its author and ts (marking it twice adds one).
    author: str | None = Field(default=None, max_length=32)
    source_ts: str | None = Field(default=None, max_length=32)


class ReviewStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"open": "Open", "closed": "Closed"}[self.value]


class PostIncidentReview(RecordMessage, table=True):
    __tablename__ = "post_incident_review"
    __table_args__ = (
        Index("ix_post_incident_review_open_due", "status", "due_at"),
        *message_indexes("post_incident_review"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_key: str = Field(max_length=32, unique=True)
    status: str = Field(default=ReviewStatus.OPEN.value, max_length=12, index=True)
    owner: str = Field(max_length=32, index=True)
    due_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    what_happened: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    root_cause: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    went_well: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    problem_key: str | None = Field(default=None, max_length=32)
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)

    @property
    def key(self) -> str:
        return f"{REVIEW_PREFIX}-{self.id}"

    @property
    def state(self) -> ReviewStatus:
        return ReviewStatus(self.status)


class ReviewAction(SQLModel, table=True):
    """A follow-up action of a review: reminded to its owner when due, listed until done."""

    __tablename__ = "pir_action"
    __table_args__ = (Index("ix_pir_action_open_due", "done_at", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="post_incident_review.id", index=True)
    text: str = Field(max_length=ACTION_MAX)
    owner: str = Field(max_length=32, index=True)
    due_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by: str | None = Field(default=None, max_length=32)
