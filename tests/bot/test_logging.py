"""LOG_FORMAT=json: one object per line with the request's kind, user, record key and duration;
plain text by default; tokens and secrets masked in both, tracebacks included. And a start-up
without noise: no Bolt warning about the token, no APScheduler lines at INFO."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.logs import JsonFormatter, PlainFormatter, configure_logging
from slackstub import requests as slack_requests
from tests.conftest import SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]
# The shape of a real bot token (team id, bot id, 24 letters and digits) and of an app token.
REAL_SHAPED_TOKEN = "xoxb-2718281828-3141592653589-Zx8kQw2LmN4pR7tV9yB1cD3f"
APP_TOKEN = "xapp-1-A0123456789-2718281828459-0a1b2c3d4e5f60718293a4b5c6d7e8f9"


class Lines(logging.Handler):
    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def capture(logger_name: str, formatter: logging.Formatter) -> Lines:
    handler = Lines(formatter)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


def log_a_leak(logger: logging.Logger) -> None:
    logger.warning("posting with %s for INC-42", REAL_SHAPED_TOKEN)
    try:
        raise RuntimeError(f"Slack said no to {APP_TOKEN} signed with {SIGNING_SECRET}")
    except RuntimeError:
        logger.exception("follow-up failed")


@pytest.mark.parametrize("formatter", [PlainFormatter, JsonFormatter])
def test_tokens_and_secrets_are_masked_in_both_formats(formatter):
    handler = capture("servicedesk.test.mask", formatter(secrets=[SIGNING_SECRET]))
    try:
        log_a_leak(logging.getLogger("servicedesk.test.mask"))
    finally:
        logging.getLogger("servicedesk.test.mask").removeHandler(handler)
    output = "\n".join(handler.lines)
    assert len(handler.lines) == 2
    for secret in (REAL_SHAPED_TOKEN, APP_TOKEN, SIGNING_SECRET, "Zx8kQw2LmN4pR7tV9yB1cD3f"):
        assert secret not in output
    assert "xoxb-***" in output and "xapp-***" in output and "RuntimeError" in output
    if formatter is JsonFormatter:
        first, second = (json.loads(line) for line in handler.lines)
        assert first["level"] == "WARNING" and first["record_key"] == "INC-42"
        assert first["message"] == "posting with xoxb-*** for INC-42"
        assert "Traceback" in second["exception"] and "***" in second["exception"]
    else:
        assert handler.lines[0].endswith(
            "WARNING servicedesk.test.mask: posting with xoxb-*** for INC-42"
        )


def test_a_request_is_one_json_line_with_kind_user_record_and_duration(slack, fake_slack):
    handler = capture("servicedesk.requests", JsonFormatter())
    try:
        slack.command("/incident", "Mail is down", user_id="U0REPORTER")
        view = fake_slack.view(fake_slack.wait_for("views.open")[-1].response["view"]["id"])
        answers = {"title": "Mail is down", "impact": "high", "urgency": "high"}
        slack.submit(view, answers, user_id="U0REPORTER")
        post = fake_slack.wait_for("chat.postMessage")[0]
        slack.click(post.args["blocks"], "incident_acknowledge", user_id="U0ONCALL1")
    finally:
        logging.getLogger("servicedesk.requests").removeHandler(handler)
    command, submission, click = (json.loads(line) for line in handler.lines)
    assert command["kind"] == "command" and command["user"] == "U0REPORTER"
    assert command["message"].startswith("/incident answered 200 in ")
    assert "Mail is down" not in command["message"]  # what was typed stays out of the log
    assert submission["kind"] == "view_submission" and submission["user"] == "U0REPORTER"
    assert click["kind"] == "block_actions" and click["user"] == "U0ONCALL1"
    assert click["record_key"] == "INC-1"
    for entry in (command, submission, click):
        assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
        assert entry["logger"] == "servicedesk.requests" and entry["level"] == "INFO"


def test_configuring_twice_keeps_one_handler():
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging("INFO", "json")
        configure_logging("INFO", "plain")
        ours = [h for h in root.handlers if h.get_name() == "servicedesk"]
        assert len(ours) == 1 and isinstance(ours[0].formatter, PlainFormatter)
        assert logging.getLogger("apscheduler").level == logging.WARNING
        configure_logging("DEBUG")
        assert logging.getLogger("apscheduler").level == logging.DEBUG
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)
        logging.getLogger("apscheduler").setLevel(logging.NOTSET)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_bot(tmp_path: Path, fake_slack, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "LOG_"))
    }
    clean.update(
        SLACK_BOT_TOKEN=REAL_SHAPED_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        HOST="127.0.0.1",
        PORT=str(port),
        PYTHONPATH=str(ROOT),
        **env,
    )
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        env=clean,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read())
            try:
                with urllib.request.urlopen(url + "/metrics", timeout=2) as response:
                    if response.status == 200:
                        return process, url
            except OSError:
                time.sleep(0.1)  # waiting for another process to listen: no clock to inject
        raise AssertionError("the bot did not start listening within 60 s")
    except BaseException:
        process.kill()
        process.communicate(timeout=30)
        raise


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    _, stderr = process.communicate(timeout=30)
    return stderr


def test_the_bot_starts_quietly_logs_json_and_serves_metrics(tmp_path, fake_slack):
    process, url = start_bot(tmp_path, fake_slack, LOG_FORMAT="json")
    try:
        body = slack_requests.slash_command("/incident", "list", user_id="U0AGENT1")
        request = urllib.request.Request(
            url + "/slack/events",
            data=body.encode(),
            headers=slack_requests.sign(body, SIGNING_SECRET),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
            metrics = response.read().decode()
        assert 'servicedesk_ack_seconds_count{kind="command"} 1.0' in metrics
        assert 'servicedesk_sweep_seconds_count{job="catch_up"} 1.0' in metrics
    finally:
        stderr = stop(process)
    lines = stderr.splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one object
    assert any(e["logger"] == "servicedesk.requests" and e["kind"] == "command" for e in entries)
    assert not any(e["logger"].startswith("apscheduler") for e in entries)
    assert "will be unused" not in stderr and "Adding job tentatively" not in stderr
    assert REAL_SHAPED_TOKEN not in stderr and SIGNING_SECRET not in stderr


def test_plain_text_is_the_default(tmp_path, fake_slack):
    process, _ = start_bot(tmp_path, fake_slack)
    stderr = stop(process)
    assert stderr and not stderr.lstrip().startswith("{")
    assert " INFO servicedesk: serving Slack requests on http://127.0.0.1:" in stderr
    assert "will be unused" not in stderr and "Adding job tentatively" not in stderr
    assert REAL_SHAPED_TOKEN not in stderr


def test_socket_mode_serves_metrics_on_host_port(tmp_path, fake_slack):
    process, url = start_bot(tmp_path, fake_slack, SLACK_APP_TOKEN=APP_TOKEN)
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            assert response.read() == b"ok\n"
        # No Slack requests over HTTP in Socket Mode.
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(url + "/slack/events", data=b"x", timeout=5)
    finally:
        stderr = stop(process)
    assert "Socket Mode; /metrics on http://127.0.0.1:" in stderr
    assert APP_TOKEN not in stderr and REAL_SHAPED_TOKEN not in stderr
