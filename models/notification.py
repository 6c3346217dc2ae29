"""The notification outbox: every message the bot owes someone, as a row with a due time.

A sweep writes rows; the notifier claims and sends them. UNIQUE(record_key, kind, stage,
recipient) is what makes "sent once" hold even with two bot processes: the second insert of the
same notification is simply refused by the database.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("record_key", "kind", "stage", "recipient", name="uq_notification_once"),
        # The claim query: status = pending/sending and next_attempt_at <= now.
        Index("ix_notification_status_next_attempt", "status", "next_attempt_at"),
        # Counting late deliveries over a period (service figures): only late rows are in it.
        Index(
            "ix_notification_late_sent",
            "sent_at",
            sqlite_where=text("late"),
            postgresql_where=text("late"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Looked up through uq_notification_once, whose first column it is (migration 0028).
    record_key: str = Field(max_length=32)
    kind: str = Field(max_length=20, index=True)
    stage: str = Field(max_length=60)
    # A Slack user id (U…/W…), a user group id (S…), or a channel id or name.
    recipient: str = Field(max_length=80)
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # Looked up through ix_notification_status_next_attempt, whose first column it is.
    status: str = Field(default=NotificationStatus.PENDING.value, max_length=12)
    # For pending rows: the earliest next try. For sending rows: when the claim's lease ends.
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, index=True)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late: bool = Field(default=False)
    text: str = Field(sa_column=Column(Text, nullable=False))
    blocks: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    thread_channel: str | None = Field(default=None, max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def state(self) -> NotificationStatus:
        return NotificationStatus(self.status)
