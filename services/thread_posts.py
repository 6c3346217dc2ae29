"""The bot's posts about an incident outside its one channel message: the steps in its thread
and its posts in a major incident's own channel. Each is kept (where, and what it said) so that
restricting the incident can replace them with the restricted placeholder, wherever they are
outside the security team's channel, and lifting the restriction can put the words back.

Only incidents are kept: no other kind of record is ever restricted."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
    if not kept(key) or not channel_id or not ts:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(ThreadPost)
        .values(
            record_key=key.upper(),
            channel_id=channel_id,
            ts=ts,
            thread_ts=thread_ts,
            text=text,
            blocks=json.dumps(list(blocks)) if blocks else None,
            posted_at=now,
            redacted=False,
        )
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
