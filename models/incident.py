"""Incidents: the table, its enums and the validated input people type into the modal."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, field_validator
from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.record_message import RecordMessage, message_indexes

TITLE_MAX = 150
DESCRIPTION_MAX = 3000
KEY_PREFIX = "INC"


class IncidentStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "new": "New",
            "in_progress": "In progress",
            "on_hold": "On hold",
            "resolved": "Resolved",
            "closed": "Closed",
            "cancelled": "Cancelled",
        }[self.value]


OPEN_STATUSES = (IncidentStatus.NEW, IncidentStatus.IN_PROGRESS, IncidentStatus.ON_HOLD)


class Level(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class HoldReason(StrEnum):
    CUSTOMER = "customer"
    SUPPLIER = "supplier"
    CHANGE = "change"

    @property
    def label(self) -> str:
        return {
            "customer": "Awaiting customer",
            "supplier": "Awaiting supplier",
            "change": "Awaiting change",
        }[self.value]


class EscalationKind(StrEnum):
    FUNCTIONAL = "functional"
    HIERARCHICAL = "hierarchical"


class Incident(RecordMessage, table=True):
    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("submission_id", name="uq_incident_submission_id"),
        Index("ix_incident_status_created", "status", "created_at"),
        *message_indexes("incident"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    impact: str = Field(max_length=10)
    urgency: str = Field(max_length=10)
    priority: int = Field(index=True)
    priority_overridden: bool = Field(default=False)
    status: str = Field(default=IncidentStatus.NEW.value, max_length=20, index=True)
    service: str | None = Field(default=None, max_length=100, index=True)
    category: str | None = Field(default=None, max_length=60, index=True)
    # The service level agreement whose targets its SLA clock runs on (None: the global ones).
    agreement: str | None = Field(default=None, max_length=60, index=True)
    team: str | None = Field(default=None, max_length=60, index=True)
    reporter: str = Field(max_length=32, index=True)
    assignee: str | None = Field(default=None, max_length=32, index=True)
    hold_reason: str | None = Field(default=None, max_length=20)
    resolution_code: str | None = Field(default=None, max_length=60)
    resolution_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    escalation_level: int = Field(default=0)
    # Declared a major incident (services.major_incidents): its own channel, roles, updates.
    is_major: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # A security incident (services.security): shown only to the security team and the people
    # working it; everyone else sees "Restricted incident INC-n".
    restricted: bool = Field(default=False, index=True, sa_column_kwargs={"server_default": "0"})
    # Restricted after it was posted: its message left in the shared channel, redacted, so
    # lifting the restriction can reveal it again.
    redacted_channel_id: str | None = Field(default=None, max_length=32)
    redacted_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    # The Slack view id of the modal that created it: a second delivery of the same
    # submission (double click, retry) finds this and creates nothing.
    submission_id: str | None = Field(default=None, max_length=64)

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}-{self.id}"

    @property
    def state(self) -> IncidentStatus:
        return IncidentStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATUSES


class SlaPause(SQLModel, table=True):
    """A span during which a record's SLA clock stood still (On hold). Open while ended_at is null."""

    __tablename__ = "sla_pause"

    id: int | None = Field(default=None, primary_key=True)
    record_key: str = Field(max_length=32, index=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=40)


class IncidentInput(BaseModel):
    """What a person typed into the New incident modal, validated."""

    title: str
    description: str = ""
    impact: Level
    urgency: Level
    service: str | None = None
    category: str | None = None
    security: bool = False  # the form's "Security incident" checkbox

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("Give the incident a short title.")
        if len(value) > TITLE_MAX:
            raise ValueError(f"Keep the title under {TITLE_MAX} characters (it has {len(value)}).")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        value = value.strip()
        if len(value) > DESCRIPTION_MAX:
            raise ValueError(
                f"Keep the description under {DESCRIPTION_MAX} characters (it has {len(value)})."
            )
        return value
