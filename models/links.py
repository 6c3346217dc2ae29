"""Generic links between records of any kind (INC-3 ↔ CI-4, PRB-2 ↔ INC-7, CHG-1 ↔ PRB-2)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime


class RecordLink(SQLModel, table=True):
    __tablename__ = "record_link"
    __table_args__ = (UniqueConstraint("a", "b", "kind", name="uq_record_link"),)

    id: int | None = Field(default=None, primary_key=True)
    a: str = Field(max_length=32, index=True)
    b: str = Field(max_length=32, index=True)
    kind: str = Field(max_length=40, index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
