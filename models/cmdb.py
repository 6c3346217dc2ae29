"""Configuration items (the CMDB) and the relationships between them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime

KEY_PREFIX = "CI"
NAME_MAX = 100


class CIType(StrEnum):
    SERVICE = "service"
    APPLICATION = "application"
    SERVER = "server"
    DATABASE = "database"
    NETWORK = "network"
    OTHER = "other"


class CIStatus(StrEnum):
    PLANNED = "planned"
    LIVE = "live"
    RETIRED = "retired"


class RelationKind(StrEnum):
    """Stored directions. 'used by' (inverse of depends_on) and 'hosts' (inverse of runs_on)
    are read from the same rows the other way round."""

    DEPENDS_ON = "depends_on"
    RUNS_ON = "runs_on"


class ConfigItem(SQLModel, table=True):
    __tablename__ = "config_item"
    __table_args__ = (
        # The lowered name is the lookup and type-ahead key: unique (names are unique without
        # regard to case) and, through the unique index, a B-tree the prefix search ranges over.
        UniqueConstraint("name_lower", name="uq_config_item_name_lower"),
        # PostgreSQL only: a pattern-ops index so LIKE 'prefix%' uses an index whatever the
        # database collation is (SQLite ranges over the unique index instead).
        Index(
            "ix_config_item_name_lower_pattern",
            "name_lower",
            postgresql_ops={"name_lower": "text_pattern_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX)
    name_lower: str = Field(max_length=NAME_MAX)
    type: str = Field(max_length=20, index=True)
    owner: str | None = Field(default=None, max_length=32, index=True)
    team: str | None = Field(default=None, max_length=60, index=True)
    status: str = Field(default=CIStatus.LIVE.value, max_length=20, index=True)
    supplier: str | None = Field(default=None, max_length=120, index=True)
    # Free attributes as a JSON object, kept with sorted keys so equal content is equal text.
    attributes: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}-{self.id}"


class CIRelation(SQLModel, table=True):
    """source --kind--> target: 'app depends_on db', 'app runs_on server'."""

    __tablename__ = "ci_relation"
    __table_args__ = (
        # Also the index for "what does this item depend on / run on" (source first).
        UniqueConstraint("source_id", "kind", "target_id", name="uq_ci_relation"),
        # The other way: "who uses / is hosted on this item", walked by impact analysis.
        Index("ix_ci_relation_target_kind", "target_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(
        sa_column=Column(Integer, ForeignKey("config_item.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(max_length=20)
    target_id: int = Field(
        sa_column=Column(Integer, ForeignKey("config_item.id", ondelete="CASCADE"), nullable=False)
    )
