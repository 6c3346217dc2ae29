"""Pages: one row per rung of a team's escalation ladder that was paged for a record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime


class Page(SQLModel, table=True):
    __tablename__ = "page"
    # One ladder per team a record was paged to (a functional escalation starts the new
    # team's ladder); each rung once.
    __table_args__ = (UniqueConstraint("record_key", "team", "level", name="uq_page_team_level"),)

    id: int | None = Field(default=None, primary_key=True)
    record_key: str = Field(max_length=32, index=True)
    team: str = Field(max_length=60)
    level: int
    recipient: str = Field(max_length=80)
    paged_at: datetime = Field(sa_type=UTCDateTime)
    # When the next rung is paged if nobody acknowledges; NULL once acknowledged, escalated
    # further, or at the top of the ladder.
    ack_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=32)
