"""The append-only audit trail: one row per creation, transition, field change and decision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime


class AuditEntry(SQLModel, table=True):
    """Who did what to which record, when, from what to what, and why. Never updated or deleted
    (the migration installs triggers that refuse it in the database itself)."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_record_key_at", "record_key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    record_key: str = Field(max_length=32, index=True)
    actor: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    action: str = Field(max_length=40)
    field: str | None = Field(default=None, max_length=40)
    from_value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    to_value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
