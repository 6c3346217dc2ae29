"""GET /metrics (Prometheus): scraped from the real HTTP server after real signed requests, and
each figure an operator alerts on checked against what happened."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError

from bot.metrics import Metrics
from bot.notifier import Notifier
from bot.slack import MeasuredWebClient
from composition import start_scheduler
from services import notifications
from slackstub import requests as slack_requests
from tests.conftest import BOT_TOKEN


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} from GET /metrics."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def scrape_until(url: str, done: Callable[[dict], bool]) -> dict:
    """Scrape until `done` holds (work after the ack runs on the server's own threads)."""
    deadline = time.monotonic() + 5
    while True:
        samples = scrape(url)
        if done(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.02)  # another thread's work: no clock to inject


def read(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_after_signed_requests_over_http(http_server, fake_slack):
    command = slack_requests.slash_command(
        "/incident", "Mail is down", user_id="U0REPORTER", response_url=fake_slack.response_url()
    )
    assert http_server.post_signed(command.encode())[0] == 200
    view = fake_slack.view(fake_slack.wait_for("views.open")[-1].response["view"]["id"])
    values = slack_requests.fill(
        view, {"title": "Mail is down", "impact": "high", "urgency": "medium"}
    )
    submission = slack_requests.view_submission(user_id="U0REPORTER", view=view, values=values)
    assert http_server.post_signed(submission.encode())[0] == 200
    fake_slack.wait_for("chat.postMessage", count=2)
    # A forgery is timed too (it was answered), but reaches no listener.
    assert http_server.post(command.encode(), {"x-slack-signature": "v0=00"})[0] == 401

    posts = (
        "servicedesk_slack_api_calls_total",
        (("method", "chat.postMessage"), ("outcome", "ok")),
    )
    # The fake records a call before it answers; the bot counts it once the answer is back.
    samples = scrape_until(http_server.url, lambda found: found.get(posts, 0) >= 2)
    assert samples[("servicedesk_ack_seconds_count", (("kind", "command"),))] == 2
    assert samples[("servicedesk_ack_seconds_count", (("kind", "view_submission"),))] == 1
    # Every ack was answered within the 3-second bucket: the histogram has the buckets.
    assert samples[("servicedesk_ack_seconds_bucket", (("kind", "command"), ("le", "3.0")))] == 2
    ok_opens = ("servicedesk_slack_api_calls_total", (("method", "views.open"), ("outcome", "ok")))
    assert samples[ok_opens] == 1
    assert samples[("servicedesk_outbox_pending", ())] >= 0
    assert ("servicedesk_outbox_oldest_pending_age_seconds", ()) in samples
    assert not any(name == "servicedesk_listener_errors_total" for name, _ in samples)


def test_failing_work_is_counted_by_request_kind(http_server, fake_slack):
    # views.open fails with a 500 on the first try and both retries: the work after the ack
    # raises, and the person is sent the apology by direct message.
    fake_slack.fail_next("views.open", status=500, count=3)
    command = slack_requests.slash_command("/incident", "Mail is down", user_id="U0REPORTER")
    assert http_server.post_signed(command.encode())[0] == 200
    apology = fake_slack.wait_for("chat.postMessage")[-1]
    assert "Sorry, something went wrong" in apology.args["text"]
    samples = scrape(http_server.url)
    assert samples[("servicedesk_listener_errors_total", (("kind", "follow_up"),))] == 1
    failed = (
        "servicedesk_slack_api_calls_total",
        (("method", "views.open"), ("outcome", "fatal_error")),
    )
    assert samples[failed] == 1


def test_a_listener_raising_before_its_ack_is_counted(ctx, fake_slack):
    from bot.app_factory import bolt_app
    from slackstub import SignedDispatcher
    from tests.conftest import SIGNING_SECRET

    app = bolt_app(ctx)

    @app.command("/boom")
    def boom(ack):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    result = SignedDispatcher(app, SIGNING_SECRET, fake=fake_slack).command("/boom", "")
    assert result.status == 200 and "Sorry, something went wrong" in result.body["text"]
    samples = read(ctx.metrics)
    assert samples[("servicedesk_listener_errors_total", (("kind", "command"),))] == 1
    assert samples[("servicedesk_ack_seconds_count", (("kind", "command"),))] == 1


def test_rate_limits_are_counted_each_time_and_as_the_final_outcome(fake_slack):
    metrics = Metrics()
    # The observer alone: no retry (and so no real Retry-After wait) in this test.
    client = MeasuredWebClient(
        token=BOT_TOKEN,
        base_url=fake_slack.url,
        metrics=metrics,
        retry_handlers=[metrics.retry_observer()],
    )
    fake_slack.fail_next("chat.postMessage", status=429, headers={"Retry-After": "0"})
    with pytest.raises(SlackApiError, match="ratelimited"):
        client.chat_postMessage(channel="C1", text="hello")
    client.chat_postMessage(channel="C1", text="hello")
    fake_slack.down(True)
    try:
        with pytest.raises(SlackApiError, match="service_unavailable"):
            client.chat_postMessage(channel="C1", text="hello")
    finally:
        fake_slack.down(False)
    samples = read(metrics)
    calls = "servicedesk_slack_api_calls_total"
    assert samples[(calls, (("method", "chat.postMessage"), ("outcome", "rate_limited")))] == 1
    assert samples[(calls, (("method", "chat.postMessage"), ("outcome", "ok")))] == 1
    assert (
        samples[(calls, (("method", "chat.postMessage"), ("outcome", "service_unavailable")))] == 1
    )
    limited = ("servicedesk_slack_rate_limited_responses_total", (("method", "chat.postMessage"),))
    assert samples[limited] == 1


def test_unreachable_slack_is_an_outcome(fake_slack):
    metrics = Metrics()
    client = MeasuredWebClient(
        token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/", metrics=metrics, retry_handlers=[]
    )
    with pytest.raises(OSError, match="Connection refused"):
        client.auth_test()
    calls = (
        "servicedesk_slack_api_calls_total",
        (("method", "auth.test"), ("outcome", "unreachable")),
    )
    assert read(metrics)[calls] == 1


def test_outbox_backlog_and_notification_lateness(ctx, database, clock, fake_slack):
    now = clock.now()
    with database.session() as session:
        for minutes, recipient in ((10, "C0INCIDENTS"), (3, "C0INCIDENTS")):
            notifications.schedule(
                session,
                record_key=f"INC-{minutes}",
                kind="sla",
                stage="warning",
                recipient=recipient,
                due_at=now - timedelta(minutes=minutes),
                text="due",
                now=now,
            )
        # Due tomorrow: queued, but not a backlog.
        notifications.schedule(
            session,
            record_key="INC-99",
            kind="sla",
            stage="warning",
            recipient="C0INCIDENTS",
            due_at=now + timedelta(days=1),
            text="later",
            now=now,
        )
    samples = read(ctx.metrics)
    assert samples[("servicedesk_outbox_pending", ())] == 2
    assert samples[("servicedesk_outbox_oldest_pending_age_seconds", ())] == 600

    report = Notifier(ctx.client, database, clock, metrics=ctx.metrics).send_due()
    assert report.sent == 2
    samples = read(ctx.metrics)
    assert samples[("servicedesk_outbox_pending", ())] == 0
    assert samples[("servicedesk_outbox_oldest_pending_age_seconds", ())] == 0
    assert samples[("servicedesk_notification_lateness_seconds_count", ())] == 2
    assert samples[("servicedesk_notification_lateness_seconds_sum", ())] == 780
    assert samples[("servicedesk_notification_lateness_seconds_bucket", (("le", "300.0"),))] == 1


def test_scheduler_jobs_are_timed_with_their_last_run(ctx, clock):
    scheduler = start_scheduler(ctx)
    try:
        samples = read(ctx.metrics)
        started = clock.now().timestamp()
        # The start-up catch-up ran before start_scheduler returned.
        assert samples[("servicedesk_sweep_seconds_count", (("job", "catch_up"),))] == 1
        last = "servicedesk_scheduler_last_run_timestamp_seconds"
        assert samples[(last, (("job", "catch_up"),))] == started
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert {"sla_sweep", "send_notifications", "paging_sweep"} <= set(jobs)
        clock.advance(timedelta(minutes=5))
        jobs["sla_sweep"].func()
        samples = read(ctx.metrics)
        assert samples[("servicedesk_sweep_seconds_count", (("job", "sla_sweep"),))] == 1
        assert samples[(last, (("job", "sla_sweep"),))] == started + 300
    finally:
        scheduler.shutdown(wait=False)


def test_a_forged_kind_does_not_become_a_label(http_server):
    for n in range(3):
        body = f'{{"type": "made_up_{n}", "token": "x"}}'.encode()
        assert http_server.post(body, {"content-type": "application/json"})[0] == 401
    samples = scrape(http_server.url)
    kinds = {
        dict(labels).get("kind") for name, labels in samples if name.startswith("servicedesk_ack")
    }
    assert kinds == {"other"}
    assert samples[("servicedesk_ack_seconds_count", (("kind", "other"),))] == 3
