"""The append-only audit trail: one row per creation, transition, field change and decision."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import Column, Index, String, Text
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
    # The hash chain (migration 0011): each row's hash covers its content and the previous
    # row's hash, so an edit or a removal behind the bot's back breaks the chain at that row.
    prev_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    row_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


# The first row chains to this: 64 zeros, the length of a SHA-256 hex digest.
GENESIS = "0" * 64


def chain_hash(
    *,
    prev_hash: str,
    record_key: str,
    actor: str,
    at: datetime,
    action: str,
    field: str | None,
    from_value: str | None,
    to_value: str | None,
    note: str | None,
) -> str:
    """SHA-256 (hex) of one audit row's content and its predecessor's hash.

    The serialisation is fixed: a JSON array in this order, UTF-8, no spaces, the time as
    ISO 8601 UTC with microseconds. The migration that hashed the rows already stored uses this
    same function, so changing it means a new migration that re-hashes every row."""
    instant = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    canonical = json.dumps(
        [
            "audit/v1",
            prev_hash,
            record_key,
            actor,
            instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            action,
            field,
            from_value,
            to_value,
            note,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
