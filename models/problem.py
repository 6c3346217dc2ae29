"""Problems (the unknown cause of incidents), known errors, and trend proposals."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.record_message import RecordMessage, message_indexes

KEY_PREFIX = "PRB"
TITLE_MAX = 150


class ProblemStatus(StrEnum):
    NEW = "new"
    INVESTIGATING = "investigating"
    KNOWN_ERROR = "known_error"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


OPEN_STATUSES = (ProblemStatus.NEW, ProblemStatus.INVESTIGATING, ProblemStatus.KNOWN_ERROR)


class Problem(RecordMessage, table=True):
    __tablename__ = "problem"
    __table_args__ = (
        UniqueConstraint("submission_id", name="uq_problem_submission_id"),
        *message_indexes("problem"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    service: str | None = Field(default=None, max_length=100, index=True)
    item_key: str | None = Field(default=None, max_length=32, index=True)
    priority: int = Field(default=3, index=True)
    status: str = Field(default=ProblemStatus.NEW.value, max_length=20, index=True)
    # Where its one channel message lives, and the Slack view that created it (a second
    # delivery of the same form finds this and creates nothing).
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    submission_id: str | None = Field(default=None, max_length=64)
    root_cause: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    workaround: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    resolution_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    resolved_by_change: str | None = Field(default=None, max_length=32, index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    known_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}-{self.id}"

    @property
    def state(self) -> ProblemStatus:
        return ProblemStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATUSES


class TrendProposal(SQLModel, table=True):
    """A cluster of incidents on one target that suggested a problem. One row per cluster: the
    unique (target, earliest_at) stops two concurrent detections proposing the same cluster."""

    __tablename__ = "trend_proposal"
    __table_args__ = (UniqueConstraint("target", "earliest_at", name="uq_trend_proposal_cluster"),)

    id: int | None = Field(default=None, primary_key=True)
    # "service:<name lowered>" or "item:CI-n"
    target: str = Field(max_length=140, index=True)
    incident_keys: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    earliest_at: datetime = Field(sa_type=UTCDateTime, index=True)
    proposed_at: datetime = Field(sa_type=UTCDateTime)
    problem_id: int | None = Field(default=None, foreign_key="problem.id", index=True)
