"""POST /capacity/<item>/<metric> over real HTTP: on the HTTP-mode server beside /slack/events,
on the standalone server Socket Mode runs for /metrics, and through `python app.py` in Socket
Mode. Every refusal is JSON with a clear error and stores nothing."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from sqlmodel import select

from bot.app_factory import build_context
from bot.capacity_http import CapacityEndpoint
from bot.http import make_server, serve_in_background
from composition import create_app
from models.capacity import CapacityMeasurement
from tests.bot.test_startup import start_socket_mode
from tests.capacity.conftest import CAPACITY_POLICY, TOKEN
from tests.conftest import InlineExecutor


def _run(server) -> None:  # type: ignore[no-untyped-def]
    import threading

    def run() -> None:
        try:
            server.run()
        except OSError:
            pass

    threading.Thread(target=run, daemon=True).start()


@pytest.fixture(params=["http_mode", "socket_mode"])
def server(request, settings, policy, database, clock):  # type: ignore[no-untyped-def]
    """The HTTP-mode server (Bolt behind /slack/events too) or Socket Mode's standalone one."""
    endpoint = CapacityEndpoint(db=database, policy=policy, clock=clock, token=TOKEN)
    if request.param == "http_mode":
        ctx = build_context(settings, policy, database, clock=clock, background=InlineExecutor())
        srv = make_server(create_app(ctx), database, host="127.0.0.1", port=0, capacity=endpoint)
        _run(srv)
    else:
        srv = serve_in_background(None, database, host="127.0.0.1", port=0, capacity=endpoint)
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()


def post(
    url: str,
    body: bytes | str | dict | list | None,
    *,
    token: str | None = TOKEN,
    method: str = "POST",
    scheme: str = "Bearer",
) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else (
        body.encode() if isinstance(body, str) else json.dumps(body).encode()
    )
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    request = urllib.request.Request(
        url, data=data if method == "POST" else None, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def stored(database) -> list[CapacityMeasurement]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return list(session.exec(select(CapacityMeasurement)))


def test_a_measurement_is_stored_once_and_answered(server, database, clock):
    url = server + "/capacity/payments/cpu"
    status, answer = post(url, {"value": 75.5, "at": "2026-11-27T09:59:00Z"})
    assert status == 201
    assert answer == {
        "stored": True,
        "level": "warning",
        "forecast_critical_at": None,
        "alerts": ["warning"],
    }
    assert post(url, {"value": 75.5, "at": "2026-11-27T09:59:00Z"})[0] == 200  # a retry
    status, answer = post(server + "/capacity/PAYMENTS/CPU", {"value": 10})  # at: now
    assert status == 201 and answer["level"] == "ok"
    rows = stored(database)
    assert [(r.item, r.metric, r.value) for r in rows] == [
        ("payments", "cpu", 75.5),
        ("payments", "cpu", 10.0),
    ]
    assert rows[1].at == clock.now() and rows[0].source == "http"


def test_an_encoded_item_name_is_read(server, database, policy):
    assert post(server + "/capacity/orders%2Ddb/disk_used", {"value": 1})[0] == 201


@pytest.mark.parametrize(
    ("token", "scheme"),
    [(None, "Bearer"), ("wrong-token-0123456789", "Bearer"), (TOKEN, "Basic"), ("", "Bearer"),
     (TOKEN + "x", "Bearer"), (TOKEN[:-1], "Bearer"), ("ö" * 20, "Bearer")],
)
def test_a_missing_or_wrong_token_gets_401(server, database, token, scheme):
    status, answer = post(server + "/capacity/payments/cpu", {"value": 1}, token=token, scheme=scheme)
    assert status == 401 and answer == {"error": "a valid bearer token is required"}
    assert stored(database) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "must be a JSON object like"),
        (b"\xff\xfe{}", "must be a JSON object like"),
        (b"", "must be a JSON object like"),
        (b'{"value": NaN}', "must be a JSON object like"),
        (b'{"value": Infinity}', "must be a JSON object like"),
        (b'{"value": 1e400}', "value must be between"),
        (b'{"value": ' + b"9" * 4000 + b"}", "value must be between"),
        (b'{"value": 10000000000000}', "value must be between"),
        (b'{"value": "71.5"}', "value must be a number"),
        (b'{"value": true}', "value must be a number"),
        (b'{"value": null}', "value must be a number"),
        (b'{"value": [1]}', "value must be a number"),
        (b"[71.5]", "the body must be a JSON object"),
        (b'"71.5"', "the body must be a JSON object"),
        (b"{}", "value is missing"),
        (b'{"value": 1, "unit": "%"}', "unknown field(s): unit"),
        (b'{"value": 1, "at": 1764237600}', "at must be an ISO 8601 time"),
        (b'{"value": 1, "at": "yesterday"}', "is not an ISO 8601 time"),
        (b'{"value": 1, "at": "2026-11-28T10:00:00Z"}', "is in the future"),
        (b'{"value": 1, "at": "' + b"2" * 100_000 + b'"}', "the body is over 4096 bytes"),
        # Too deep for Python 3.11 and 3.12's parser; 3.13 reads it, as a list: 400 either way.
        (b"[" * 2000 + b"]" * 2000, "the body must be a JSON object"),
    ],
)
def test_a_malformed_body_gets_a_clear_json_error(server, database, body, problem):
    status, answer = post(server + "/capacity/payments/cpu", body)
    assert status in (400, 413)
    assert problem in answer["error"], answer
    assert stored(database) == []


def test_a_100k_body_gets_413(server, database):
    status, answer = post(server + "/capacity/payments/cpu", b" " * 100_000)
    assert status == 413 and "over 4096 bytes" in answer["error"]


@pytest.mark.parametrize(
    "path",
    ["/capacity/payments/memory", "/capacity/nothing/cpu", "/capacity/payments",
     "/capacity/payments/cpu/extra", "/capacity/%FF/cpu", "/capacity//cpu"],
)
def test_an_item_or_metric_not_required_gets_404(server, database, path):
    status, answer = post(server + path, {"value": 1})
    assert status == 404 and answer["error"]
    assert stored(database) == []


def test_only_post_is_accepted(server):
    status, answer = post(server + "/capacity/payments/cpu", None, method="GET")
    assert status == 405 and answer == {"error": "use POST"}


def test_without_a_configured_token_every_request_is_refused(database, policy, clock):
    endpoint = CapacityEndpoint(db=database, policy=policy, clock=clock, token=None)
    srv = serve_in_background(None, database, host="127.0.0.1", port=0, capacity=endpoint)
    try:
        url = f"http://127.0.0.1:{srv.effective_port}/capacity/payments/cpu"
        for token in (TOKEN, "", None):
            status, answer = post(url, {"value": 1}, token=token)
            assert status == 403 and "CAPACITY_TOKEN is not set" in answer["error"]
    finally:
        srv.close()
    assert stored(database) == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_app_py_in_socket_mode_serves_the_endpoint(tmp_path, fake_slack):
    """The wiring in `servicedesk` itself: Socket Mode, CAPACITY_TOKEN from the environment,
    the measurement stored in the bot's database, the token never logged."""
    (tmp_path / "policy.toml").write_text(CAPACITY_POLICY)
    port = _free_port()
    process = start_socket_mode(
        tmp_path,
        fake_slack,
        HOST="127.0.0.1",
        PORT=str(port),
        CAPACITY_TOKEN=TOKEN,
        SERVICEDESK_CONFIG=str(tmp_path / "policy.toml"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        LOG_LEVEL="DEBUG",
    )
    try:
        fake_slack.wait_for("apps.connections.open", timeout=30)
        url = f"http://127.0.0.1:{port}/capacity/vpn/tunnels_free"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, answer = post(url, {"value": 3})
                break
            except urllib.error.URLError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # another process starting up: no clock to inject
        assert status == 201 and answer["level"] == "critical"
        assert post(url, {"value": 3}, token="wrong-token-0123456789")[0] == 401
    finally:
        process.kill()
        output = process.communicate(timeout=10)[0]
    assert TOKEN not in output
    import sqlite3

    with sqlite3.connect(tmp_path / "bot.db") as connection:
        rows = connection.execute("select item, metric, value from capacity_measurement").fetchall()
        titles = connection.execute("select title from incident").fetchall()
    assert rows == [("vpn", "tunnels_free", 3.0)]
    assert titles == [("Capacity critical: vpn tunnels_free at 3",)]
