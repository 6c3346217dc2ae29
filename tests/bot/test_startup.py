"""Start-up refuses bad settings and bad policy files with a message, exit status 2, no traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.policy import PolicyError, parse_policy
from bot.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def run_cli(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    clean.update(env)
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_tokens_stop_startup_with_where_to_find_them(tmp_path):
    result = run_cli({}, tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "OAuth & Permissions" in result.stderr
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_token_counts_as_missing(tmp_path):
    result = run_cli({"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": ""}, tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr


def test_malformed_token_names_the_variable(tmp_path):
    result = run_cli(
        {"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "abc"}, tmp_path
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN must be a bot token starting with xoxb-" in result.stderr
    assert "SLACK_SIGNING_SECRET" in result.stderr and "Signing Secret" in result.stderr
    assert "xoxp-user-token" not in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_policy_file_stops_startup_naming_the_key(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('[[teams]]\nname = "ops"\n[[services]]\nname = "mail"\nteam = "opz"\n')
    result = run_cli(
        {
            "SLACK_BOT_TOKEN": "xoxb-1-2",
            "SLACK_SIGNING_SECRET": "a" * 32,
            "SERVICEDESK_CONFIG": str(policy),
        },
        tmp_path,
    )
    assert result.returncode == 2
    assert "services[0].team: 'opz' is not one of the [[teams]] (ops)" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_read_from_dotenv(tmp_path, monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PORT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET=" + "b" * 32 + "\nPORT=4000\n"
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-dotenv"
    assert settings.port == 4000
    assert "xoxb-from-dotenv" not in repr(settings)


def test_port_out_of_range_is_refused():
    with pytest.raises(SettingsError, match="PORT"):
        load_settings(
            SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="a" * 32, PORT=70000, _env_file=None
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[channels]\nincidnts = 'C1'\n", "channels.incidnts: is not a setting"),
        ("[roles]\nagents = ['bob']\n", "roles.agents[0]: 'bob' is not a Slack user id"),
        (
            "[sla.targets.P1]\nresponse = 'soon'\nresolution = '4h'\ncalendar = '24x7'\n",
            "sla.targets.P1.response",
        ),
        ("[incidents]\nauto_close_after = 'x'\n", "incidents.auto_close_after"),
        ("channels = [", "not valid TOML"),
    ],
)
def test_policy_errors_name_the_key(text, expected):
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert expected in str(caught.value)


def test_example_policy_file_is_valid():
    policy = parse_policy((ROOT / "servicedesk.example.toml").read_text())
    assert policy.services and policy.teams and policy.services[0].tests
    assert policy.catalog.items and policy.changes.freezes and policy.changes.standard_changes
    assert policy.sla.calendar.country == "GB"


def start_socket_mode(tmp_path: Path, fake_slack, **extra: str) -> subprocess.Popen:  # type: ignore[no-untyped-def,type-arg]
    """`python app.py` in Socket Mode against the fake Slack, with `extra` in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update(
        {
            "SLACK_BOT_TOKEN": "xoxb-1-2",
            "SLACK_SIGNING_SECRET": "a" * 32,
            "SLACK_APP_TOKEN": "xapp-1-A0-socket",
            "SLACK_API_URL": fake_slack.url,
            "RUN_SCHEDULER": "false",
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_app_token_starts_socket_mode_against_the_api_url(tmp_path, fake_slack):
    """With SLACK_APP_TOKEN set the bot opens a Socket Mode connection (asking the Web API at
    SLACK_API_URL for it with the app-level token) instead of serving HTTP."""
    process = start_socket_mode(tmp_path, fake_slack)
    try:
        calls = fake_slack.wait_for("apps.connections.open", timeout=30)
    finally:
        process.kill()
        output = process.communicate(timeout=10)[0]
    assert calls[0].headers.get("Authorization") == "Bearer xapp-1-A0-socket", output
    assert "xapp-1-A0-socket" not in output and "xoxb-1-2" not in output


def test_db_upgrade_command_creates_the_schema(tmp_path):
    result = run_cli(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}, tmp_path, "db", "upgrade"
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "fresh.db") as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master")}
    assert {"incident", "audit_entry", "change", "notification", "config_item"} <= tables


def test_sigterm_stops_the_http_server_cleanly(tmp_path):
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update(
        {
            "SLACK_BOT_TOKEN": "xoxb-1-2",
            "SLACK_SIGNING_SECRET": "a" * 32,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "RUN_SCHEDULER": "false",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "PYTHONPATH": str(ROOT),
        }
    )
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        env=env,
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
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "servicedesk stopped" in output
    frozen = re.search(r"kept out of the garbage collector's full collections: (\d+)", output)
    assert frozen and int(frozen.group(1)) > 10_000, output
