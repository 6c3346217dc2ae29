"""The Slack Web API client: honours SLACK_API_URL and retries rate limits, 5xx and dropped
connections with slack_sdk's own handlers."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter

from bot.metrics import Metrics
from bot.settings import Settings
from bot.slack_connections import KeptAliveClient


class _NoJitter(Jitter):
    def recalculate(self, duration: float) -> float:
        return duration


def retry_interval(settings: Settings) -> RetryIntervalCalculator | None:
    """The back-off between retries of a 5xx or a dropped connection: slack_sdk's default unless
    SLACK_RETRY_BACKOFF_SECONDS sets the first wait (then exact, so tests can make it tiny)."""
    if settings.slack_retry_backoff_seconds is None:
        return None
    return BackoffRetryIntervalCalculator(
        backoff_factor=settings.slack_retry_backoff_seconds, jitter=_NoJitter()
    )


class MeasuredWebClient(KeptAliveClient):
    """The bot's client that also counts its calls by method and final outcome (bot.metrics)."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics

    def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        outcome = "unreachable"
        try:
            response = super().api_call(api_method, **kwargs)
            outcome = "ok"
            return response
        except SlackApiError as error:
            status = error.response.status_code
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            outcome = "rate_limited" if status == 429 else str(code or f"http_{status}")[:60]
            raise
        finally:
            self.metrics.slack_calls.labels(api_method, outcome).inc()


def retry_handlers(settings: Settings, metrics: Metrics | None = None) -> list[Any]:
    interval = retry_interval(settings)
    # Rate limits keep waiting for what Slack's Retry-After asks, whatever the back-off.
    backoff = {} if interval is None else {"interval_calculator": interval}
    # In place of slack_sdk's default single connection retry, which would not take the
    # back-off; the number of retries of a dropped connection stays two.
    handlers: list[Any] = [] if metrics is None else [metrics.retry_observer()]
    return [
        *handlers,
        RateLimitErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2, **backoff),
        ConnectionErrorRetryHandler(max_retry_count=2, **backoff),
    ]


def make_web_client(
    settings: Settings, *, timeout: int = 10, metrics: Metrics | None = None
) -> WebClient:
    """The bot's client, keeping its connections to Slack open between calls
    (bot/slack_connections.py); with `metrics`, one that also counts its calls and 429s."""
    options: dict[str, Any] = {
        "token": settings.slack_bot_token.get_secret_value(),
        "base_url": settings.slack_api_url,
        "timeout": timeout,
        "retry_handlers": retry_handlers(settings, metrics),
    }
    if metrics is None:
        return KeptAliveClient(**options)
    return MeasuredWebClient(metrics=metrics, **options)
