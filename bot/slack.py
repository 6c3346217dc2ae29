"""The Slack Web API client: honours SLACK_API_URL and retries rate limits, 5xx and dropped
connections with slack_sdk's own handlers."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter

from bot.settings import Settings


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


def make_web_client(settings: Settings, *, timeout: int = 10) -> WebClient:
    interval = retry_interval(settings)
    # Rate limits keep waiting for what Slack's Retry-After asks, whatever the back-off.
    backoff = {} if interval is None else {"interval_calculator": interval}
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=timeout,
        # In place of slack_sdk's default single connection retry, which would not take the
        # back-off; the number of retries of a dropped connection stays two.
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2, **backoff),
            ConnectionErrorRetryHandler(max_retry_count=2, **backoff),
        ],
    )
