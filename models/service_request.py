"""Service requests raised from the catalog, and the approval decisions on them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime

KEY_PREFIX = "REQ"


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    IN_FULFILMENT = "in_fulfilment"
    FULFILLED = "fulfilled"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


OPEN_STATUSES = (
    RequestStatus.SUBMITTED,
    RequestStatus.AWAITING_APPROVAL,
    RequestStatus.APPROVED,
    RequestStatus.IN_FULFILMENT,
)


class ServiceRequest(SQLModel, table=True):
    __tablename__ = "service_request"
    __table_args__ = (
        UniqueConstraint("submission_id", name="uq_service_request_submission_id"),
        Index("ix_service_request_status_submitted", "status", "submitted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: str = Field(max_length=60, index=True)
    title: str = Field(max_length=150)
    requester: str = Field(max_length=32, index=True)
    # The validated form answers, a JSON object.
    answers: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    status: str = Field(default=RequestStatus.SUBMITTED.value, max_length=20, index=True)
    # Who must approve, fixed at submission: a user group id or the named manager's user id.
    approver: str | None = Field(default=None, max_length=32, index=True)
    approver_is_group: bool = Field(default=False)
    fulfilment_team: str = Field(max_length=60, index=True)
    # The catalog item's service, and the agreement covering it whose targets apply.
    service: str | None = Field(default=None, max_length=100, index=True)
    agreement: str | None = Field(default=None, max_length=60, index=True)
    assignee: str | None = Field(default=None, max_length=32, index=True)
    # Targets copied from the catalog at submission, so a later policy edit does not move them.
    response_target_s: int
    fulfilment_target_s: int
    submitted_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=32)
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    fulfilled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    fulfilment_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submission_id: str | None = Field(default=None, max_length=64)

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}-{self.id}"

    @property
    def state(self) -> RequestStatus:
        return RequestStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATUSES


class RequestApproval(SQLModel, table=True):
    """One approver's decision. The unique constraint makes a double click count once."""

    __tablename__ = "request_approval"
    __table_args__ = (
        UniqueConstraint("request_id", "approver", name="uq_request_approval_approver"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    approver: str = Field(max_length=32)
    approved: bool
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = Field(sa_type=UTCDateTime)
