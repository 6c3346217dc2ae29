"""Posting about an incident outside its one channel message, and taking those words back.

`post` sends a message (a step in the incident's thread, or a post in a major incident's own
channel) and keeps it (services.thread_posts), so that `redact` can later replace every kept post
outside the security team's channel with the restricted placeholder and `restore` can put the
words back. A post Slack refuses to edit is logged and counted, never raised: the restriction
itself is already committed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from services import thread_posts

log = logging.getLogger(__name__)
# Slack's answer for a message that is gone: nothing is left to redact or restore.
GONE = {"message_not_found", "channel_not_found", "is_archived"}


def post(
    ctx: AppContext,
    key: str,
    channel: str,
    text: str,
    *,
    thread_ts: str | None = None,
    blocks: Sequence[Any] | None = None,
) -> Any:
    """chat.postMessage (raising as it does), then keep the post when it is about an
    incident."""
    extra: dict[str, Any] = {}
    if thread_ts:
        extra["thread_ts"] = thread_ts
    if blocks is not None:
        extra["blocks"] = list(blocks)
    posted = ctx.client.chat_postMessage(channel=channel, text=text, **extra)
    if thread_posts.kept(key):
        with ctx.db.session() as session:
            thread_posts.remember(
                session,
                key=key,
                channel_id=str(posted.get("channel") or channel),
                ts=str(posted.get("ts") or ""),
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                now=ctx.clock.now(),
            )
    return posted


def redact(ctx: AppContext, key: str, text: str, blocks: list[Any]) -> tuple[int, int]:
    """Every kept post about `key` outside `channels.security` shows `text`/`blocks` instead.
    Returns (redacted, refused)."""
    with ctx.db.read_session() as session:
        posts = thread_posts.to_redact(
            session, key=key, private_channel=ctx.policy.channels.security
        )
        wanted = [(p.id, p.channel_id, p.ts) for p in posts]
    return _edit(ctx, wanted, redacted=True, content=lambda _id: (text, blocks))


def restore(ctx: AppContext, key: str) -> tuple[int, int]:
    """Every redacted post about `key` shows its own words again. Returns (restored, refused)."""
    with ctx.db.read_session() as session:
        posts = thread_posts.to_restore(session, key=key)
        words = {p.id: (p.text, thread_posts.blocks_of(p)) for p in posts}
        wanted = [(p.id, p.channel_id, p.ts) for p in posts]
    return _edit(ctx, wanted, redacted=False, content=lambda id_: words[id_])


def _edit(
    ctx: AppContext, wanted: list[tuple[Any, str, str]], *, redacted: bool, content: Any
) -> tuple[int, int]:
    done: list[int] = []
    refused = 0
    for id_, channel, ts in wanted:
        text, blocks = content(id_)
        try:
            ctx.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as error:
            code = str(error.response.get("error") or "refused")
            log.warning("post %s in %s not edited: %s", ts, channel, code)
            if code not in GONE:
                refused += 1
                continue
        done.append(id_)
    with ctx.db.session() as session:
        thread_posts.set_redacted(session, ids=done, redacted=redacted)
    return len(done), refused
