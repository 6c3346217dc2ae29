"""One row per SLA target of a record: when its next notification stage falls due.

The sweep reads only rows with `next_due_at <= now` through its index, so its cost follows the
number of stages due, not the number of records stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime

# Stages: the warning percentages (e.g. 50, 75), then 100 for the breach, then 100 + n for the
# n-th breach reminder.
BREACH_STAGE = 100


class SlaTimer(SQLModel, table=True):
    __tablename__ = "sla_timer"
    __table_args__ = (UniqueConstraint("record_key", "target", name="uq_sla_timer_target"),)

    id: int | None = Field(default=None, primary_key=True)
    # Looked up through uq_sla_timer_target, whose first column it is (migration 0028).
    record_key: str = Field(max_length=32)
    target: str = Field(max_length=12)  # "response" or "resolution"
    started_at: datetime = Field(sa_type=UTCDateTime)
    target_seconds: int
    # "24x7", "business" or "business:NAME" (agreement NAME's service hours; migration 0016).
    calendar: str = Field(max_length=80)
    next_stage: int
    # NULL while paused, stopped (met) or after the last stage: the sweep never looks at it.
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    breached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the target is (or was) due, pauses and the calendar counted; NULL while paused.
    # Reports compare it with stopped_at, so a target met late counts as breached even when
    # the sweep never got to fire the breach before the record was settled.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
