"""The Web API client's retries: how many, and how long they wait."""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import default_interval_calculator

from bot.settings import load_settings
from bot.slack import make_web_client
from tests.conftest import BOT_TOKEN, SIGNING_SECRET


def _settings(fake_slack, **more):  # type: ignore[no-untyped-def]
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
        _env_file=None,
        **more,
    )


def test_production_keeps_slack_sdks_own_back_off(fake_slack) -> None:  # type: ignore[no-untyped-def]
    client = make_web_client(_settings(fake_slack))
    backing_off = [
        h
        for h in client.retry_handlers
        if isinstance(h, ServerErrorRetryHandler | ConnectionErrorRetryHandler)
    ]
    assert len(backing_off) == 2
    assert all(h.interval_calculator is default_interval_calculator for h in backing_off)


def test_injected_back_off_doubles_without_jitter(fake_slack) -> None:  # type: ignore[no-untyped-def]
    client = make_web_client(_settings(fake_slack, SLACK_RETRY_BACKOFF_SECONDS=0.25))
    calculators = {
        type(h).__name__: h.interval_calculator
        for h in client.retry_handlers
        if isinstance(h, ServerErrorRetryHandler | ConnectionErrorRetryHandler)
    }
    assert set(calculators) == {"ServerErrorRetryHandler", "ConnectionErrorRetryHandler"}
    for calculator in calculators.values():
        assert isinstance(calculator, BackoffRetryIntervalCalculator)
        assert [calculator.calculate_sleep_duration(n) for n in range(3)] == [0.25, 0.5, 1.0]


def test_slack_down_is_retried_twice_then_given_up_within_milliseconds(fake_slack) -> None:  # type: ignore[no-untyped-def]
    client = make_web_client(_settings(fake_slack, SLACK_RETRY_BACKOFF_SECONDS=0.001))
    fake_slack.down(True)
    started = time.monotonic()
    with pytest.raises(SlackApiError, match="service_unavailable"):
        client.chat_postMessage(channel="C1", text="hello")
    assert time.monotonic() - started < 1.0
    assert len(fake_slack.calls("chat.postMessage")) == 3


def test_a_negative_back_off_is_refused(fake_slack) -> None:  # type: ignore[no-untyped-def]
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="SLACK_RETRY_BACKOFF_SECONDS"):
        _settings(fake_slack, SLACK_RETRY_BACKOFF_SECONDS=-1)
