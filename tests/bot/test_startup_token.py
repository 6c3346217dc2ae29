"""Start-up asks Slack whether the bot token works: a refused token stops the bot (exit 2, the
variable named, its value never printed); an unreachable Slack does not."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update({"RUN_SCHEDULER": "false", "PYTHONPATH": str(ROOT), **values})
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "error", ["invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"]
)
def test_token_slack_refuses_stops_startup_naming_the_variable(tmp_path, fake_slack, error):
    token = "xoxb-1234-revoked-secret"
    fake_slack.refuse_token(token, error)
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env=_env(
            SLACK_BOT_TOKEN=token,
            SLACK_SIGNING_SECRET="a" * 32,
            SLACK_API_URL=fake_slack.url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert f"Slack refused SLACK_BOT_TOKEN ({error})" in result.stderr
    assert "OAuth & Permissions" in result.stderr
    assert token not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert fake_slack.calls("auth.test")


def test_env_example_copied_unchanged_does_not_start(tmp_path):
    shutil.copyfile(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env=_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is still the placeholder from .env.example" in result.stderr
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "xoxb-your-bot-token" not in result.stderr
    assert "Traceback" not in result.stderr


def _serve_until_healthy(tmp_path: Path, api_url: str) -> str:
    """Start the bot over HTTP, wait until /healthz answers, stop it; its output."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        env=_env(
            SLACK_BOT_TOKEN="xoxb-1-2",
            SLACK_SIGNING_SECRET="a" * 32,
            SLACK_API_URL=api_url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
            HOST="127.0.0.1",
            PORT=str(port),
        ),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.communicate()[0]
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        return process.communicate(timeout=20)[0]
    finally:
        if process.poll() is None:
            process.kill()


def test_unreachable_slack_starts_anyway_with_a_warning(tmp_path):
    closed = _free_port()  # bound and released: nothing listens there
    output = _serve_until_healthy(tmp_path, f"http://127.0.0.1:{closed}/api/")
    assert "WARNING" in output and "could not reach Slack" in output
    assert "SLACK_BOT_TOKEN" in output and "xoxb-1-2" not in output


def test_working_token_is_checked_and_logged(tmp_path, fake_slack):
    output = _serve_until_healthy(tmp_path, fake_slack.url)
    assert "SLACK_BOT_TOKEN works" in output
    assert fake_slack.calls("auth.test")[0].headers.get("Authorization") == "Bearer xoxb-1-2"
