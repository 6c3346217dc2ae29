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
from bot.metrics import Metrics
from services import notifications, permissions, thread_posts
from services.clock import Clock

log = logging.getLogger(__name__)

# Slack allows about one message per second per channel, "with bursts over that limit for
# short periods"; more gets 429s. A storm to one channel (many incidents, a mass breach) is
# spread one message per PACE after a burst of BURST.
PACE = timedelta(seconds=1)
BURST = 3
# Outcomes (sent, failed, held back) are recorded in batches: one short transaction at the end
# of a pass, and at least this often during a long one, so a crash resends at most this much.
FLUSH_EVERY = timedelta(seconds=1)
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
    deferred: int = 0  # paced: held back to keep one post per channel per second
    rate_limited: int = 0  # answered 429 by Slack (retried after its Retry-After)
    errors: list[str] = field(default_factory=list)


@dataclass
class _Outcomes:
    """What a pass has sent, failed or held back and not yet recorded."""

    since: datetime
    sent: list[notifications.Sent] = field(default_factory=list)
    failed: list[notifications.Failed] = field(default_factory=list)
    deferred: dict[int, datetime] = field(default_factory=dict)
    # Channel posts about incidents, kept so that restricting one later redacts them too.
    posted: list[thread_posts.Posted] = field(default_factory=list)


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
        metrics: Metrics | None = None,
    ) -> None:
        self.client = client
        self.metrics = metrics
        self.db = db
        self.clock = clock
        # A row sent later than its due time by more than this is marked late.
        self.late_grace = late_grace
        # The app's one directory: the people a group row reaches are the people the services
        # let decide. Standalone notifiers (tests, scripts) get their own.
        self.directory = directory or Directory(client)
        self._dm_channels: dict[str, str] = {}
        # Channel (or DM'd user) → its pacing state: the generic cell rate algorithm's
        # "theoretical arrival time" (a post is allowed while it is at most BURST-1 paces
        # ahead of now; each post moves it one pace on).
        self._tat: dict[str, datetime] = {}
        self.pace = PACE
        self.burst = BURST
        self.flush_every = FLUSH_EVERY

    def send_due(self, limit: int = 100) -> SendReport:
        """Send what is due now; returns counts. Safe to run in several processes at once."""
        report = SendReport()
        # A group row becomes one row per member, which are due at once: a second pass sends
        # them without waiting for the next tick.
        for _ in range(2):
            with self.db.session() as session:
                now = self.clock.now()
                rows = notifications.claim_due(session, now=now, limit=limit)
                claimed, deferred = self._paced([_outgoing(row) for row in rows], now)
                notifications.defer(session, until=deferred)
            report.deferred += len(deferred)
            if not claimed:
                break
            expanded_before = report.expanded
            outcomes = _Outcomes(since=self.clock.now())
            for row in claimed:
                self._send_one(row, report, outcomes)
                if self.clock.now() - outcomes.since >= self.flush_every:
                    self._record(outcomes, report)
            self._record(outcomes, report)
            if report.expanded == expanded_before:
                break
        return report

    def _paced(
        self, rows: list[_Outgoing], now: datetime
    ) -> tuple[list[_Outgoing], dict[int, datetime]]:
        """(rows to send now, {row id: when to try it}): per channel at most `burst` posts at
        once and one per `pace` after that; the rest are spread one `pace` apart."""
        send: list[_Outgoing] = []
        later: dict[int, datetime] = {}
        tat: dict[str, datetime] = {}
        slack_ahead = self.pace * (self.burst - 1)
        for row in rows:
            if is_usergroup(row.recipient):
                send.append(row)  # expanding a group posts nothing
                continue
            channel = _channel_of(row)
            arrival = tat.get(channel) or self._tat.get(channel) or now
            allowed = max(now, arrival - slack_ahead)
            if allowed <= now:
                send.append(row)
            else:
                later[row.id] = allowed
            tat[channel] = max(arrival, allowed) + self.pace
        return send, later

    def _record(self, outcomes: _Outcomes, report: SendReport) -> None:
        """Record what the pass did so far in one short transaction: every sent row in one
        statement, every failed one in another, the held-back ones in a third."""
        if outcomes.sent or outcomes.failed or outcomes.deferred:
            with self.db.session() as session:
                report.sent += len(
                    notifications.mark_sent_many(
                        session, sent=outcomes.sent, late_grace=self.late_grace
                    )
                )
                notifications.mark_failed_many(session, failed=outcomes.failed)
                notifications.defer(session, until=outcomes.deferred)
                thread_posts.remember_many(session, outcomes.posted, now=self.clock.now())
        outcomes.sent, outcomes.failed, outcomes.deferred = [], [], {}
        outcomes.posted = []
        outcomes.since = self.clock.now()

    def _posted(self, channel: str, at: datetime) -> None:
        self._tat[channel] = max(self._tat.get(channel) or at, at) + self.pace

    def _send_one(self, row: _Outgoing, report: SendReport, outcomes: _Outcomes) -> None:
        if not is_usergroup(row.recipient):
            # Slack may have told us to slow down since this pass was planned (a 429).
            now = self.clock.now()
            arrival = self._tat.get(_channel_of(row))
            if arrival is not None and arrival - self.pace * (self.burst - 1) > now:
                outcomes.deferred[row.id] = arrival - self.pace * (self.burst - 1)
                report.deferred += 1
                return
        try:
            if is_usergroup(row.recipient):
                self._expand_group(row)
                report.expanded += 1
                return
            posted = self._deliver(row)
        except SlackApiError as error:
            status = error.response.status_code
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            retry_after = _retry_after(error.response.headers)
            if status == 429:
                # Slack's pace for this channel was exceeded: come back when it says, not
                # after the error backoff, and hold the channel's other posts until then.
                wait = retry_after if retry_after else self.pace.total_seconds()
                retry_after = wait
                self._tat[_channel_of(row)] = (
                    self.clock.now() + timedelta(seconds=wait) + self.pace * (self.burst - 1)
                )
                report.rate_limited += 1
            self._failed(
                row,
                f"Slack answered {status} {code or ''}".strip(),
                retry_after,
                report,
                outcomes,
                rate_limited=status == 429,
            )
            return
        except _NETWORK_ERRORS as error:
            error_text = f"Slack unreachable: {type(error).__name__}"
            self._failed(row, error_text, None, report, outcomes)
            return
        now = self.clock.now()
        outcomes.sent.append(notifications.Sent(row.id, now))
        if posted is not None:
            outcomes.posted.append(posted)
        if self.metrics is not None:
            lateness = (now - row.due_at).total_seconds()
            self.metrics.notification_lateness.observe(max(0.0, lateness))

    def _failed(
        self,
        row: _Outgoing,
        error: str,
        retry_after: float | None,
        report: SendReport,
        outcomes: _Outcomes,
        *,
        rate_limited: bool = False,
    ) -> None:
        # Only the error class and Slack's code are logged: never the request, which carries
        # the token in its headers.
        log.warning(
            "notification %s (%s %s) not sent: %s", row.id, row.record_key, row.stage, error
        )
        outcomes.failed.append(
            notifications.Failed(
                row.id, self.clock.now(), error, retry_after=retry_after, rate_limited=rate_limited
            )
        )
        report.failed += 1
        report.errors.append(error)

    def _deliver(self, row: _Outgoing) -> thread_posts.Posted | None:
        """Post the row; a channel post about an incident comes back to be kept."""
        if is_user(row.recipient):
            channel = self._dm_channel(row.recipient)
            thread_ts = None
        else:
            channel = row.thread_channel or row.recipient
            thread_ts = row.thread_ts
        answer = self.client.chat_postMessage(
            channel=channel, text=row.text, blocks=row.blocks, thread_ts=thread_ts
        )
        self._posted(_channel_of(row), self.clock.now())
        if is_user(row.recipient) or not thread_posts.kept(row.record_key):
            return None
        return thread_posts.Posted(
            row.record_key,
            str(answer.get("channel") or channel),
            str(answer.get("ts") or ""),
            row.text,
            row.blocks,
            thread_ts,
        )

    def _dm_channel(self, user_id: str) -> str:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            answer = self.client.conversations_open(users=user_id)
            channel = str(answer["channel"]["id"])
            self._dm_channels[user_id] = channel
        return channel

    def _expand_group(self, row: _Outgoing) -> None:
        """Replace a user-group row by one row per member (one insert), in one transaction
        with the group row marked done, so that a failure half-way through the members never
        messages the first ones twice."""
        members = sorted(self.directory.current(row.recipient))
        with self.db.session() as session:
            now = self.clock.now()
            if row.stage == "approval":
                skip = permissions.never_asked(session, record_key=row.record_key)
                members = [m for m in members if m not in skip]
            notifications.schedule_many(
                session,
                [
                    notifications.row(
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
                    for member in members
                ],
            )
            notifications.mark_sent(session, id=row.id, now=now, late_grace=self.late_grace)


def _channel_of(row: _Outgoing) -> str:
    """Where a row's post lands, for pacing: the DM with a user, or the channel."""
    if is_user(row.recipient):
        return row.recipient
    return row.thread_channel or row.recipient


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
