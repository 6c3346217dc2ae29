"""What the bot posted about an incident besides its one channel message: the steps in its
thread and its posts in a major incident's own channel. Kept so that restricting the incident
can replace each of them with the restricted placeholder, and lifting the restriction can put
the words back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime


class ThreadPost(SQLModel, table=True):
    __tablename__ = "thread_post"
    __table_args__ = (UniqueConstraint("channel_id", "ts", name="uq_thread_post_message"),)

    id: int | None = Field(default=None, primary_key=True)
    record_key: str = Field(max_length=32, index=True)
    channel_id: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    # The thread it is in (None: a post of its own in a major incident's channel).
    thread_ts: str | None = Field(default=None, max_length=32)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # The Block Kit blocks as JSON, when the post had any.
    blocks: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    posted_at: datetime = Field(sa_type=UTCDateTime)
    # Shows the restricted placeholder now (the incident was restricted after it was posted).
    redacted: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
