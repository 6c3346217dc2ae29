"""`servicedesk sandbox`: the command, the demo data, and the bot answering the page."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import func
from sqlmodel import select

import composition
import sandbox
from models.change import Change
from models.cmdb import ConfigItem
from models.incident import Incident
from models.service_request import ServiceRequest


def counts(running: sandbox.Sandbox) -> tuple[int, int, int, int]:
    with running.ctx.db.read_session() as session:
        return tuple(  # type: ignore[return-value]
            session.exec(select(func.count()).select_from(model)).one()
            for model in (Incident, ServiceRequest, ConfigItem, Change)
        )


def test_seed_fills_a_month_once_and_db_keeps_it_between_runs(tmp_path: Path) -> None:
    db_path = tmp_path / "kept.db"
    running = sandbox.start(db_path=db_path, seed=True, scheduler=False)
    try:
        seeded = counts(running)
        with running.ctx.db.read_session() as session:
            times = session.exec(select(Incident.created_at)).all()
            closed = session.exec(
                select(func.count()).select_from(Incident).where(Incident.status == "closed")
            ).one()
    finally:
        running.stop()
    incidents, requests_, items, changes = seeded
    assert incidents >= 25 and requests_ >= 8
    # The demo policy's three services and the four demo items.
    assert items == 7
    # The weekly certificate rotation, done and reviewed.
    assert changes >= 4
    assert (max(times) - min(times)).days >= 25
    assert closed > incidents // 2
    again = sandbox.start(db_path=db_path, seed=True, scheduler=False)
    try:
        assert counts(again) == seeded
        bot = WebClient(token="xoxb-test", base_url=again.workspace.url)
        posted = bot.chat_postMessage(channel="C0INCIDENTS", text="kept")
    finally:
        again.stop()
    # The stand-in's messages are kept beside the database too: records still find theirs.
    third = sandbox.start(db_path=db_path, scheduler=False)
    try:
        kept = third.workspace.message("C0INCIDENTS", posted["ts"])
        assert kept is not None and kept["text"] == "kept"
    finally:
        third.stop()


def test_the_bot_answers_a_command_typed_on_the_page(running_sandbox: sandbox.Sandbox) -> None:
    # Both halves listen on loopback only.
    assert running_sandbox.url.startswith("http://127.0.0.1:")
    assert running_sandbox.workspace.request_url.startswith("http://127.0.0.1:")
    assert running_sandbox.server.effective_host == "127.0.0.1"
    body = {"user": sandbox.ENGINEER.id, "channel": "C0INCIDENTS", "text": "/incident list"}
    request = urllib.request.Request(
        running_sandbox.url + "sandbox/send", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read()) == {"ok": True}
    # The list comes back through response_url, after the ack.
    deadline = time.monotonic() + 10
    while True:
        state = running_sandbox.workspace.state(user=sandbox.ENGINEER.id, channel="C0INCIDENTS")
        if state["ephemerals"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    (answer,) = state["ephemerals"]
    assert "open incidents" in json.dumps(answer).lower()


def test_the_command_prints_the_url_serves_the_page_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "composition",
            "sandbox",
            "--port",
            "0",
            "--db",
            str(tmp_path / "s.db"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("servicedesk sandbox: open http://127.0.0.1:"), line
        url = line.split("open ", 1)[1].split(" ", 1)[0]
        with urllib.request.urlopen(url, timeout=10) as response:
            assert b"servicedesk sandbox" in response.read()
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "Traceback" not in errors


def test_a_port_in_use_is_said_plainly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = composition.main(["sandbox", "--port", str(port), "--db", str(tmp_path / "s.db")])
    assert status == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
