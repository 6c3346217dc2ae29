"""A record's one channel message and its thread, for every record kind.

`RecordMessages` is the part of `KindHandlers` (handlers/kind.py) that posts a new record's
message once however often it is asked, updates it in place from the record's committed state,
keeps the other messages that show the record (a change's approval requests) in step, and posts
each step in the record's thread. It reads what the kind declares there: `kind`, `channel`,
`message`, `step_text` and `first_step_by`, `refresh_when_announced`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

from slack_sdk.errors import SlackApiError

from bot import thread_posts
from bot.context import AppContext
from handlers.common import claim_owner, message_lock, post_claimed_message, rendered
from models.carried import RecordRef
from services.records import RecordKind

log = logging.getLogger(__name__)


class RecordMessages:
    """The channel message and thread half of `KindHandlers`; see the module docstring."""

    ctx: AppContext
    kind: ClassVar[RecordKind[Any]]
    channel: str
    message: Callable[[Any, Any, RecordRef | None], tuple[str, list[Any]]]
    step_text: Callable[[str, Any, str], str]
    # The record's field naming who the first thread line ("… raised IMP-3: …", the renderer's
    # step "created") is about; None: a new record's thread starts empty.
    first_step_by: ClassVar[str | None] = None
    # Update the message once it is posted, so its buttons carry where it lives.
    refresh_when_announced: ClassVar[bool] = False

    def first_step(self, session: Any, record: Any) -> str | None:
        """The first line in a new record's thread ("… raised PRB-3: …"), or None."""
        if self.first_step_by is None:
            return None
        return self.step_text("created", record, getattr(record, self.first_step_by))

    def announce(self, key: str) -> Any:
        """Post the record's one channel message (once, however often this runs) and its
        `first_step` in the thread. Returns the post, or None when another caller had already
        claimed it."""
        with self.ctx.db.session() as session:
            claim = self.kind.claim_announcement(
                session,
                key=key,
                channel_id=self.channel,
                now=self.ctx.clock.now(),
                owner=claim_owner(),
            )
            if claim is None:
                return None  # a second delivery of the same form: already announced
            record = self.kind.get(session, key=key)
            version = record.message_version  # type: ignore[attr-defined]
            text, blocks = self.message(session, record, None)
            first = self.first_step(session, record)
        posted = post_claimed_message(
            self.ctx,
            self.kind,
            key=key,
            channel=self.channel,
            text=text,
            blocks=blocks,
            claim=claim,
            version=version,
            refresh=lambda: self.refresh(key),
        )
        if first:
            self.ctx.client.chat_postMessage(
                channel=posted["channel"], thread_ts=posted["ts"], text=first
            )
        if self.refresh_when_announced:
            self.refresh(key)
        return posted

    def before_refresh(self, session: Any, key: str) -> None:
        """Work in the refresh's transaction before the record is read (e.g. reminders)."""

    def also_update(self, session: Any, record: Any) -> list[tuple[str, str, str, list[Any]]]:
        """Other messages that show the record and follow it (a change's approval requests):
        (channel, ts, fallback text, blocks), updated with its channel message."""
        return []

    def refresh(self, key: str, *, step: str | None = None) -> tuple[str | None, str | None]:
        """Update the record's channel message in place from its committed state and post
        `step` in its thread. Returns where the message is, (None, None) before it is posted
        (the record stays stale and is brought up to date once it is)."""
        with message_lock(self.ctx, self.kind, key):
            with self.ctx.db.session() as session:
                self.before_refresh(session, key)
                record = self.kind.get(session, key=key)
                version = record.message_version  # type: ignore[attr-defined]
                channel, ts = record.channel_id, record.message_ts  # type: ignore[attr-defined]
                if channel and ts:
                    text, blocks = self.message(
                        session, record, RecordRef(key=key, channel=channel, ts=ts)
                    )
                others = self.also_update(session, record)
            for other in others:
                self._update_other(*other)
            if not channel or not ts:
                return None, None
            self.ctx.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            rendered(self.ctx, self.kind, key=key, version=version)
        if step:
            self.ctx.client.chat_postMessage(channel=channel, thread_ts=ts, text=step)
        return channel, ts

    def _update_other(self, channel: str, ts: str, text: str, blocks: list[Any]) -> None:
        try:
            self.ctx.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as error:
            log.error("could not update a message about a record: %s", error.response.get("error"))

    def post_in_thread(self, key: str, text: str, *, blocks: list[Any] | None = None) -> bool:
        """Post in the record's thread; see `post_in_record_thread`."""
        return post_in_record_thread(self.ctx, self.kind, key, text, blocks=blocks)


def post_in_record_thread(
    ctx: AppContext,
    kind: RecordKind[Any],
    key: str,
    text: str,
    *,
    blocks: list[Any] | None = None,
) -> bool:
    """Post in a record's thread (any kind: a problem telling its incidents); it has one once
    its message was posted. A Slack failure is logged, not raised. False when there is no
    thread (yet) or Slack refused."""
    with ctx.db.session() as session:
        record = kind.get(session, key=key)
    channel, ts = record.channel_id, record.message_ts
    if not channel or not ts:
        return False
    try:
        thread_posts.post(ctx, key, channel, text, thread_ts=ts, blocks=blocks)
    except SlackApiError as error:
        log.error("could not post in %s's thread: %s", key, error.response.get("error"))
        return False
    return True
