"""What an operator watches: Prometheus metrics, served at GET /metrics.

Each app context has its own registry (no process-wide state), so several apps in one process
(the tests, the sandbox) keep their figures apart. Durations are wall-clock measurements
(time.perf_counter); the outbox figures and the scheduler's last run read the injected clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from slack_sdk.http_retry.handler import RetryHandler
from sqlalchemy import func
from sqlmodel import col, select

if TYPE_CHECKING:
    from bot.db import Database
    from services.clock import Clock

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Slack wants an answer within 3 s; the buckets are fine below that and coarse above it.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
SWEEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


# Request kinds Slack sends. Anything else (a forged body can say anything: the kind is read
# before the signature is checked) counts as "other", so labels stay few.
KNOWN_KINDS = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "event_callback",
        "url_verification",
        "shortcut",
        "message_action",
        "interactive_message",
        "dialog_submission",
    }
)


def request_kind(body: Any) -> str:
    """A request's kind, from its parsed body: `command`, or Slack's `type` (`block_actions`,
    `view_submission`, `block_suggestion`, `event_callback`, …), else `other`."""
    if not isinstance(body, dict):
        return "other"
    if "command" in body:
        return "command"
    kind = body.get("type")
    return kind if isinstance(kind, str) and kind in KNOWN_KINDS else "other"


class Metrics:
    """The bot's metrics, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ack_seconds = Histogram(
            "servicedesk_ack_seconds",
            "Time from a Slack request arriving to its answer (the ack), by request kind",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.listener_errors = Counter(
            "servicedesk_listener_errors",
            "Listeners (and follow-up work) that raised, by request kind",
            ["kind"],
            registry=r,
        )
        self.slack_calls = Counter(
            "servicedesk_slack_api_calls",
            "Slack Web API calls by method and final outcome (ok, Slack's error code, "
            "rate_limited for a 429 after the retries, unreachable)",
            ["method", "outcome"],
            registry=r,
        )
        self.slack_rate_limited = Counter(
            "servicedesk_slack_rate_limited_responses",
            "Every 429 Slack answered, retried or not, by method",
            ["method"],
            registry=r,
        )
        self.notification_lateness = Histogram(
            "servicedesk_notification_lateness_seconds",
            "How long after its due time a notification reached Slack",
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.sweep_seconds = Histogram(
            "servicedesk_sweep_seconds",
            "How long one run of a scheduled job (a sweep) took, by job",
            ["job"],
            buckets=SWEEP_BUCKETS,
            registry=r,
        )
        self.scheduler_last_run = Gauge(
            "servicedesk_scheduler_last_run_timestamp_seconds",
            "When each scheduled job last finished (Unix time)",
            ["job"],
            registry=r,
        )

    def watch_outbox(self, db: Database, clock: Clock) -> None:
        """Report the outbox's due backlog at every scrape (one indexed query)."""
        self.registry.register(_OutboxCollector(db, clock))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def timed_job(self, name: str, job: Callable[[], object], clock: Clock) -> Callable[[], object]:
        """`job`, timing each run and noting when it last finished."""

        def run() -> object:
            started = time.perf_counter()
            try:
                return job()
            finally:
                self.sweep_seconds.labels(name).observe(time.perf_counter() - started)
                self.scheduler_last_run.labels(name).set(clock.now().timestamp())

        run.__name__ = getattr(job, "__name__", name)
        return run

    def retry_observer(self) -> RetryHandler:
        """A retry handler that retries nothing and counts every 429 (put it first)."""
        return _RateLimitObserver(self)


class _RateLimitObserver(RetryHandler):
    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self.metrics = metrics

    def can_retry(
        self, *, state: Any, request: Any, response: Any = None, error: Any = None
    ) -> bool:
        if response is not None and response.status_code == 429:
            method = str(getattr(request, "url", "")).rsplit("/", 1)[-1].split("?")[0]
            self.metrics.slack_rate_limited.labels(method or "unknown").inc()
        return False


class _OutboxCollector(Collector):
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from models.notification import Notification, NotificationStatus

        now = self.clock.now()
        try:
            with self.db.read_session() as session:
                count, oldest = session.exec(
                    select(func.count(), func.min(col(Notification.due_at))).where(
                        col(Notification.status).in_(
                            [NotificationStatus.PENDING.value, NotificationStatus.SENDING.value]
                        ),
                        col(Notification.due_at) <= now,
                    )
                ).one()
        except Exception as error:  # noqa: BLE001 - a scrape must answer even when the store cannot
            log.warning("could not read the outbox for /metrics: %s", type(error).__name__)
            return
        pending = GaugeMetricFamily(
            "servicedesk_outbox_pending",
            "Notifications due and not yet sent",
        )
        pending.add_metric([], float(count or 0))
        yield pending
        age = GaugeMetricFamily(
            "servicedesk_outbox_oldest_pending_age_seconds",
            "How long the oldest due, unsent notification has been due (0 when none)",
        )
        if oldest is not None and oldest.tzinfo is None:
            from datetime import UTC

            oldest = oldest.replace(tzinfo=UTC)
        age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield age
