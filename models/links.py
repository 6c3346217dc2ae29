"""Generic links between any two records by key (INC-3 → REL-2), shared by every record kind."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime


class RecordLink(SQLModel, table=True):
    __tablename__ = "record_link"
    __table_args__ = (
        UniqueConstraint("from_key", "to_key", "kind", name="uq_record_link_from_to_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    from_key: str = Field(max_length=32, index=True)
    to_key: str = Field(max_length=32, index=True)
    kind: str = Field(max_length=40, index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
