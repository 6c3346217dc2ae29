"""Continual improvement (ISO/IEC 20000-1 clause 4.5): nonconformities (NC-n), found by an
audit or a review, with their correction, corrective action and check of effectiveness; and
improvement opportunities (IMP-n) anyone raises, which the process owner evaluates."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field

from models.base import UTCDateTime
from models.record_message import RecordMessage, message_indexes

TITLE_MAX = 150
TEXT_MAX = 3000


class SmsRecord(RecordMessage):
    """What every service-management record kind's table has: where its one channel message
    lives, who made it and when."""

    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class NcStatus(StrEnum):
    OPEN = "open"  # recorded; the owner plans the correction and corrective action
    ACTION_PLANNED = "action_planned"  # the corrective action is under way, with a due date
    VERIFYING = "verifying"  # the action is done; is it effective?
    CLOSED = "closed"  # effective, with the evidence

    @property
    def label(self) -> str:
        return {
            "open": "Open",
            "action_planned": "Action planned",
            "verifying": "Verifying effectiveness",
            "closed": "Closed",
        }[self.value]


NC_OPEN = (NcStatus.OPEN, NcStatus.ACTION_PLANNED, NcStatus.VERIFYING)


class Nonconformity(SmsRecord, table=True):
    __tablename__ = "nonconformity"
    __table_args__ = (
        UniqueConstraint("submission_id", name="uq_nonconformity_submission_id"),
        *message_indexes("nonconformity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # Where it was found: an internal audit (AUD-3) or words ("management review").
    source: str = Field(default="", max_length=100, index=True)
    owner: str = Field(max_length=32, index=True)
    status: str = Field(default=NcStatus.OPEN.value, max_length=20, index=True)
    correction: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    corrective_action: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    due_on: date | None = Field(default=None, index=True)
    effectiveness: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    submission_id: str | None = Field(default=None, max_length=64)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)

    @property
    def key(self) -> str:
        return f"NC-{self.id}"

    @property
    def state(self) -> NcStatus:
        return NcStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.state in NC_OPEN


class ImprovementStatus(StrEnum):
    PROPOSED = "proposed"  # raised by anyone; the process owner evaluates it
    APPROVED = "approved"  # to be done by its owner, by its due date
    REJECTED = "rejected"
    DONE = "done"

    @property
    def label(self) -> str:
        return self.value.capitalize()


IMPROVEMENT_OPEN = (ImprovementStatus.PROPOSED, ImprovementStatus.APPROVED)


class Improvement(SmsRecord, table=True):
    __tablename__ = "improvement"
    __table_args__ = (
        UniqueConstraint("submission_id", name="uq_improvement_submission_id"),
        *message_indexes("improvement"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # The process it improves (a key of models.sms_policy.PROCESSES): its owner evaluates it.
    process: str = Field(max_length=40, index=True)
    # Who evaluates it: the process's owner (a person or a user group) when it was raised.
    evaluator: str | None = Field(default=None, max_length=32)
    status: str = Field(default=ImprovementStatus.PROPOSED.value, max_length=20, index=True)
    owner: str | None = Field(default=None, max_length=32, index=True)
    due_on: date | None = Field(default=None, index=True)
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_by: str | None = Field(default=None, max_length=32)
    submission_id: str | None = Field(default=None, max_length=64)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)

    @property
    def key(self) -> str:
        return f"IMP-{self.id}"

    @property
    def state(self) -> ImprovementStatus:
        return ImprovementStatus(self.status)


class AuditStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


AUDIT_OPEN = (AuditStatus.PLANNED, AuditStatus.IN_PROGRESS)


class InternalAudit(SmsRecord, table=True):
    """One internal audit (AUD-n) of an `[[sms.audits]]` plan, due on `planned_on`. The sweep
    creates the next one when a plan has none open; (name, planned_on) is unique, so two
    instances create one."""

    __tablename__ = "internal_audit"
    __table_args__ = (
        UniqueConstraint("name", "planned_on", name="uq_internal_audit_planned"),
        *message_indexes("internal_audit"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, index=True)
    scope: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    auditor: str = Field(max_length=32)
    planned_on: date = Field(index=True)
    status: str = Field(default=AuditStatus.PLANNED.value, max_length=20, index=True)
    conclusion: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)

    @property
    def key(self) -> str:
        return f"AUD-{self.id}"

    @property
    def state(self) -> AuditStatus:
        return AuditStatus(self.status)
