"""Changes: the table, its targets (services or configuration items), approvals, and enums."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.record_message import RecordMessage, message_indexes

KEY_PREFIX = "CHG"
TITLE_MAX = 150
TARGET_MAX = 100


class ChangeType(StrEnum):
    STANDARD = "standard"
    NORMAL = "normal"
    EMERGENCY = "emergency"
    # A new, changed or removed service (ISO/IEC 20000-1 clause 5): approved like a normal
    # change, and implemented only once its acceptance test passed (services.service_changes).
    SERVICE = "service"
    # A change to a customer's requirements or agreement, raised from a service review.
    AGREEMENT = "agreement"

    @property
    def approved_as(self) -> ChangeType:
        """Whose approvers and quorum decide it: service and agreement changes are normal ones."""
        if self in (ChangeType.SERVICE, ChangeType.AGREEMENT):
            return ChangeType.NORMAL
        return self


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ChangeStatus(StrEnum):
    NEW = "new"
    ASSESSMENT = "assessment"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    IMPLEMENTING = "implementing"
    REVIEW = "review"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


# A change in one of these still holds its window on the calendar and can conflict.
ACTIVE_STATUSES = (
    ChangeStatus.NEW,
    ChangeStatus.ASSESSMENT,
    ChangeStatus.AWAITING_APPROVAL,
    ChangeStatus.APPROVED,
    ChangeStatus.SCHEDULED,
    ChangeStatus.IMPLEMENTING,
)
CALENDAR_STATUSES = (ChangeStatus.APPROVED, ChangeStatus.SCHEDULED, ChangeStatus.IMPLEMENTING)


class ReviewOutcome(StrEnum):
    SUCCESSFUL = "successful"
    SUCCESSFUL_WITH_ISSUES = "successful_with_issues"
    FAILED = "failed"
    BACKED_OUT = "backed_out"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Change(RecordMessage, table=True):
    __tablename__ = "change"
    __table_args__ = (
        Index("ix_change_window", "planned_start", "planned_end"),
        *message_indexes("change"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    type: str = Field(max_length=20, index=True)
    risk: str = Field(max_length=10, index=True)
    status: str = Field(default=ChangeStatus.NEW.value, max_length=20, index=True)
    standard_template: str | None = Field(default=None, max_length=60)
    planned_start: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    planned_end: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    implementation_plan: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    backout_plan: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    test_plan: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    implementer: str | None = Field(default=None, max_length=32, index=True)
    requester: str = Field(max_length=32, index=True)
    review_outcome: str | None = Field(default=None, max_length=30, index=True)
    review_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Touches information security: a `changes.security_approvers` approval is needed too.
    security: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    implementation_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    implemented_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Where the change's one channel message lives (kept up to date), and the Slack view that
    # created it: a second submission of the same form finds this and creates nothing.
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    submission_id: str | None = Field(default=None, max_length=64, unique=True, index=True)

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}-{self.id}"

    @property
    def state(self) -> ChangeStatus:
        return ChangeStatus(self.status)

    @property
    def change_type(self) -> ChangeType:
        return ChangeType(self.type)


class ChangeTarget(SQLModel, table=True):
    """A service or configuration item (by name or key) that a change touches."""

    __tablename__ = "change_target"

    change_id: int = Field(
        sa_column=Column(Integer, ForeignKey("change.id", ondelete="CASCADE"), primary_key=True)
    )
    target: str = Field(max_length=TARGET_MAX, primary_key=True, index=True)


class ChangeApproval(SQLModel, table=True):
    """One approver's decision on one change; the unique constraint makes a second click a no-op."""

    __tablename__ = "change_approval"
    __table_args__ = (
        UniqueConstraint("change_id", "approver", name="uq_change_approval_change_approver"),
    )

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("change.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    approver: str = Field(max_length=32, index=True)
    decision: str = Field(max_length=10)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Which extra roles this approver filled when deciding ("chair", "freeze"), comma-separated,
    # so a later policy edit cannot change how past decisions counted.
    roles: str = Field(default="", max_length=60)
    decided_at: datetime = Field(sa_type=UTCDateTime)


class ChangeApprovalMessage(SQLModel, table=True):
    """A posted approval request (channel post or an approver's DM), updated with the tally."""

    __tablename__ = "change_approval_message"

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("change.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    channel: str = Field(max_length=32)
    ts: str = Field(max_length=32)


@dataclass(frozen=True)
class ChangeInput:
    """What a person typed into the change form; the service validates it and names bad fields."""

    title: str
    type: ChangeType
    description: str = ""
    risk: Risk | None = None
    risk_answers: dict[str, bool] | None = None
    targets: list[str] = field(default_factory=list)
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    implementation_plan: str = ""
    backout_plan: str = ""
    test_plan: str = ""
    implementer: str | None = None
    standard_template: str | None = None
    security: bool = False
