"""Delivers the notification outbox to Slack.

Rows are claimed in one short transaction, sent with no transaction open (Slack may be slow),
and their outcome recorded in another short one. A failure puts the row back to pending with
a later try, so a Slack outage delays messages and loses none.
"""

from __future__ import annotations

import json
import logging
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.db import Database
from bot.directory import Directory
from services import notifications, permissions
from services.clock import Clock

log = logging.getLogger(__name__)

_NETWORK_ERRORS = (URLError, socket.timeout, TimeoutError, ConnectionError)


@dataclass(frozen=True)
class _Outgoing:
    """What the sender needs of a claimed row, read before its transaction ends."""

    id: int
    record_key: str
    kind: str
    stage: str
    recipient: str
    due_at: datetime
    late: bool
    text: str
    blocks: list[dict[str, Any]] | None
    thread_channel: str | None
    thread_ts: str | None


@dataclass
class SendReport:
    """What one `send_due` pass did."""

    sent: int = 0
    failed: int = 0
    expanded: int = 0
    errors: list[str] = field(default_factory=list)


def is_user(ref: str) -> bool:
    return ref[:1] in ("U", "W") and ref[1:].isalnum() and ref.isupper()


def is_usergroup(ref: str) -> bool:
    return ref[:1] == "S" and ref[1:].isalnum() and ref.isupper()


class Notifier:
    """Sends due outbox rows: DMs to users, one DM per member for user groups, channel posts
    (in a record's thread when the row names one) for everything else."""

    def __init__(
        self,
        client: WebClient,
        db: Database,
        clock: Clock,
        directory: Directory | None = None,
        *,
        late_grace: timedelta = notifications.LATE_GRACE,
    ) -> None:
        self.client = client
        self.db = db
        self.clock = clock
        # A row sent later than its due time by more than this is marked late.
        self.late_grace = late_grace
        # The app's one directory: the people a group row reaches are the people the services
        # let decide. Standalone notifiers (tests, scripts) get their own.
        self.directory = directory or Directory(client)
        self._dm_channels: dict[str, str] = {}

    def send_due(self, limit: int = 100) -> SendReport:
        """Send what is due now; returns counts. Safe to run in several processes at once."""
        report = SendReport()
        # A group row becomes one row per member, which are due at once: a second pass sends
        # them without waiting for the next tick.
        for _ in range(2):
            with self.db.session() as session:
                claimed = [
                    _outgoing(row)
                    for row in notifications.claim_due(session, now=self.clock.now(), limit=limit)
                ]
            if not claimed:
                break
            expanded_before = report.expanded
            for row in claimed:
                self._send_one(row, report)
            if report.expanded == expanded_before:
                break
        return report

    def _send_one(self, row: _Outgoing, report: SendReport) -> None:
        try:
            if is_usergroup(row.recipient):
                self._expand_group(row)
                report.expanded += 1
                return
            self._deliver(row)
        except SlackApiError as error:
            status = error.response.status_code
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            retry_after = _retry_after(error.response.headers)
            self._failed(row, f"Slack answered {status} {code or ''}".strip(), retry_after, report)
            return
        except _NETWORK_ERRORS as error:
            self._failed(row, f"Slack unreachable: {type(error).__name__}", None, report)
            return
        with self.db.session() as session:
            if notifications.mark_sent(
                session, id=row.id, now=self.clock.now(), late_grace=self.late_grace
            ):
                report.sent += 1

    def _failed(
        self, row: _Outgoing, error: str, retry_after: float | None, report: SendReport
    ) -> None:
        # Only the error class and Slack's code are logged: never the request, which carries
        # the token in its headers.
        log.warning(
            "notification %s (%s %s) not sent: %s", row.id, row.record_key, row.stage, error
        )
        with self.db.session() as session:
            notifications.mark_failed(
                session, id=row.id, now=self.clock.now(), error=error, retry_after=retry_after
            )
        report.failed += 1
        report.errors.append(error)

    def _deliver(self, row: _Outgoing) -> None:
        if is_user(row.recipient):
            channel = self._dm_channel(row.recipient)
            thread_ts = None
        else:
            channel = row.thread_channel or row.recipient
            thread_ts = row.thread_ts
        self.client.chat_postMessage(
            channel=channel, text=row.text, blocks=row.blocks, thread_ts=thread_ts
        )

    def _dm_channel(self, user_id: str) -> str:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            answer = self.client.conversations_open(users=user_id)
            channel = str(answer["channel"]["id"])
            self._dm_channels[user_id] = channel
        return channel

    def _expand_group(self, row: _Outgoing) -> None:
        """Replace a user-group row by one row per member, in one transaction, so that a
        failure half-way through the members never messages the first ones twice."""
        members = sorted(self.directory.current(row.recipient))
        with self.db.session() as session:
            now = self.clock.now()
            if row.stage == "approval":
                skip = permissions.never_asked(session, record_key=row.record_key)
                members = [m for m in members if m not in skip]
            for member in members:
                notifications.schedule(
                    session,
                    record_key=row.record_key,
                    kind=row.kind,
                    stage=row.stage,
                    recipient=member,
                    due_at=row.due_at,
                    text=row.text,
                    blocks=row.blocks,
                    late=row.late,
                    now=now,
                )
            notifications.mark_sent(session, id=row.id, now=now, late_grace=self.late_grace)


def _outgoing(row: Any) -> _Outgoing:
    return _Outgoing(
        id=row.id,
        record_key=row.record_key,
        kind=row.kind,
        stage=row.stage,
        recipient=row.recipient,
        due_at=row.due_at,
        late=row.late,
        text=row.text,
        blocks=json.loads(row.blocks) if row.blocks else None,
        thread_channel=row.thread_channel,
        thread_ts=row.thread_ts,
    )


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    for name, value in dict(headers).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None
