"""The bot's posts about an incident outside its one channel message: the steps in its thread
and its posts in a major incident's own channel. Each is kept (where, and what it said) so that
restricting the incident can replace them with the restricted placeholder, wherever they are
outside the security team's channel, and lifting the restriction can put the words back.

Only incidents are kept: no other kind of record is ever restricted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from models.thread_post import ThreadPost

KEPT_PREFIX = "INC-"


def kept(key: str) -> bool:
    """Are posts about this record kept? (Incidents only.)"""
    return key.upper().startswith(KEPT_PREFIX)


def remember(
    session: Session,
    *,
    key: str,
    channel_id: str,
    ts: str,
    text: str,
    blocks: Sequence[Any] | None = None,
    thread_ts: str | None = None,
    now: datetime,
) -> None:
    """Keep one post about incident `key` (a second call for the same message keeps one)."""
    remember_many(
        session,
        [Posted(key, channel_id, ts, text, blocks, thread_ts)],
        now=now,
    )


@dataclass(frozen=True)
class Posted:
    """One post the bot made about a record: where, and what it said."""

    key: str
    channel_id: str
    ts: str
    text: str
    blocks: Sequence[Any] | None = None
    thread_ts: str | None = None


def remember_many(session: Session, posts: Sequence[Posted], *, now: datetime) -> None:
    """Keep the posts about incidents among `posts`, in one statement (the notifier records a
    pass's channel posts this way); the others, and any already kept, are skipped."""
    values = [
        {
            "record_key": post.key.upper(),
            "channel_id": post.channel_id,
            "ts": post.ts,
            "thread_ts": post.thread_ts,
            "text": post.text,
            "blocks": json.dumps(list(post.blocks)) if post.blocks else None,
            "posted_at": now,
            "redacted": False,
        }
        for post in posts
        if kept(post.key) and post.channel_id and post.ts
    ]
    if not values:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(ThreadPost)
        .values(values)
        .on_conflict_do_nothing(index_elements=["channel_id", "ts"])
    )


def to_redact(session: Session, *, key: str, private_channel: str | None) -> list[ThreadPost]:
    """The posts about `key` still showing their words outside the security team's channel,
    oldest first."""
    statement = select(ThreadPost).where(
        ThreadPost.record_key == key.upper(), col(ThreadPost.redacted).is_(False)
    )
    if private_channel:
        statement = statement.where(ThreadPost.channel_id != private_channel)
    return list(session.exec(statement.order_by(col(ThreadPost.id))))


def to_restore(session: Session, *, key: str) -> list[ThreadPost]:
    """The posts about `key` showing the restricted placeholder, oldest first."""
    statement = select(ThreadPost).where(
        ThreadPost.record_key == key.upper(), col(ThreadPost.redacted).is_(True)
    )
    return list(session.exec(statement.order_by(col(ThreadPost.id))))


def set_redacted(session: Session, *, ids: Sequence[int], redacted: bool) -> None:
    """Say these posts now show the placeholder (or their words again): one statement."""
    if ids:
        session.execute(
            update(ThreadPost).where(col(ThreadPost.id).in_(list(ids))).values(redacted=redacted)
        )


def blocks_of(post: ThreadPost) -> list[Any]:
    """The post's blocks as they were posted ([] when it was text only)."""
    return list(json.loads(post.blocks)) if post.blocks else []
