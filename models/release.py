"""Releases: the table, the changes each bundles, and its test results."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.record_message import RecordMessage, message_indexes

KEY_PREFIX = "REL"
NAME_MAX = 100


class ReleaseStatus(StrEnum):
    PLANNED = "planned"
    BUILT = "built"
    TESTED = "tested"
    SCHEDULED = "scheduled"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Release(RecordMessage, table=True):
    __tablename__ = "release"
    __table_args__ = message_indexes("release")

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX, index=True)
    version: str = Field(max_length=40)
    status: str = Field(default=ReleaseStatus.PLANNED.value, max_length=20, index=True)
    window_start: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    window_end: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    release_plan: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    backout_plan: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    release_manager: str = Field(max_length=32, index=True)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    deployed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The release's one channel message, and the Slack view that created it (idempotency).
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    submission_id: str | None = Field(default=None, max_length=64, unique=True, index=True)

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}-{self.id}"

    @property
    def state(self) -> ReleaseStatus:
        return ReleaseStatus(self.status)


class ReleaseChange(SQLModel, table=True):
    """An approved change bundled into a release."""

    __tablename__ = "release_change"

    release_id: int = Field(
        sa_column=Column(Integer, ForeignKey("release.id", ondelete="CASCADE"), primary_key=True)
    )
    change_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("change.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )


class ReleaseTest(SQLModel, table=True):
    """One recorded test run of a release; the latest one gates deployment."""

    __tablename__ = "release_test"

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("release.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    passed: bool
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    recorded_by: str = Field(max_length=32)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
