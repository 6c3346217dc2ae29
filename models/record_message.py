"""The bookkeeping of a record's one channel message, shared by every kind that has one
(incident, change, release, problem): who is posting it (a claim with a lease) and whether
the message in Slack shows the record's latest state (two versions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime

# Columns that describe the message itself: changing them is not a change the message shows.
MESSAGE_COLUMNS = frozenset(
    {"channel_id", "message_ts", "claimed_at", "claimed_by", "message_version", "rendered_version"}
)


class RecordMessage(SQLModel):
    """Mixed into a record table; channel_id and message_ts stay on the record as before."""

    # Set with channel_id when a process claims the posting; a claim older than the lease
    # with no message_ts is taken over (the poster died between posting and storing the ts).
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=80)
    # Bumped in the transaction of every change to the record; the message is up to date when
    # rendered_version (the version the last successful post or update showed) has caught up.
    message_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    rendered_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


def message_indexes(table: str) -> tuple[Index, Index]:
    """The two sweeps' indexes: records not posted yet (recent ones, by created_at), and
    messages behind their record (a partial index, so it holds only the few stale ones)."""
    unposted = text("message_ts IS NULL")
    dirty = text("message_version > rendered_version")
    return (
        Index(
            f"ix_{table}_unposted",
            "created_at",
            sqlite_where=unposted,
            postgresql_where=unposted,
        ),
        # On id, so the sweep's ORDER BY id walks just the index's few rows (SQLite and PG).
        Index(
            f"ix_{table}_message_dirty",
            "id",
            sqlite_where=dirty,
            postgresql_where=dirty,
        ),
    )
