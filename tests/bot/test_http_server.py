"""The real HTTP server (waitress + Bolt's WSGI adapter): signed requests in, forged ones out."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from bot.app_factory import build_context
from bot.http import make_server
from composition import create_app
from models.incident import Incident
from slackstub import requests as slack_requests
from tests.conftest import SIGNING_SECRET


@pytest.fixture
def server(settings, policy, database, clock):  # type: ignore[no-untyped-def]
    pool = ThreadPoolExecutor(max_workers=2)
    ctx = build_context(settings, policy, database, clock=clock, background=pool)
    srv = make_server(create_app(ctx), database, host="127.0.0.1", port=0)

    def run() -> None:
        try:
            srv.run()
        except OSError:
            pass  # closing the listening socket from the test thread ends the select loop

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()
    thread.join(timeout=5)
    pool.shutdown(wait=True)


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_signed_command_and_submission_over_http(server, fake_slack, database):
    body = slack_requests.slash_command(
        "/incident",
        "Mail is down for everyone",
        user_id="U0REPORTER",
        response_url=fake_slack.response_url(),
    )
    status, _ = post(server + "/slack/events", body, slack_requests.sign(body, SIGNING_SECRET))
    assert status == 200
    call = fake_slack.wait_for("views.open")[-1]
    view = fake_slack.view(call.response["view"]["id"])
    values = slack_requests.fill(
        view, {"title": "Mail is down for everyone", "impact": "high", "urgency": "medium"}
    )
    body = slack_requests.view_submission(user_id="U0REPORTER", view=view, values=values)
    status, text = post(server + "/slack/events", body, slack_requests.sign(body, SIGNING_SECRET))
    assert status == 200 and text == ""
    fake_slack.wait_for("chat.postMessage", count=2)
    with database.session() as session:
        incident = session.exec(select(Incident)).one()
    assert incident.priority == 2


def test_forged_and_stale_requests_get_401(server, database):
    body = slack_requests.slash_command("/incident", "list")
    forged = slack_requests.sign(body, "0" * 32)
    assert post(server + "/slack/events", body, forged)[0] == 401
    stale = slack_requests.sign(body, SIGNING_SECRET, timestamp=int(time.time()) - 600)
    assert post(server + "/slack/events", body, stale)[0] == 401


def test_healthz(server):
    with urllib.request.urlopen(server + "/healthz", timeout=5) as response:
        assert response.status == 200 and response.read() == b"ok\n"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(server + "/nowhere", timeout=5)
    assert missing.value.code == 404


def test_url_verification_answers_the_challenge(server):
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"})
    status, text = post(server + "/slack/events", body, slack_requests.sign(body, SIGNING_SECRET))
    assert status == 200 and "abc123" in text


def test_command_mentioning_payload_reaches_the_listener(server, fake_slack):
    # Bolt alone mistakes any form body containing "payload" for interactivity.
    body = slack_requests.slash_command(
        "/incident",
        "Kafka payload too large",
        user_id="U0REPORTER",
        response_url=fake_slack.response_url(),
    )
    status, _ = post(server + "/slack/events", body, slack_requests.sign(body, SIGNING_SECRET))
    assert status == 200
    call = fake_slack.wait_for("views.open")[-1]
    view = fake_slack.view(call.response["view"]["id"])
    assert view["blocks"][0]["element"]["initial_value"] == "Kafka payload too large"


def _wait(predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def test_whole_lifecycle_over_http_with_the_real_thread_pool(server, fake_slack, database):
    def send(body: str) -> str:
        status, text = post(
            server + "/slack/events", body, slack_requests.sign(body, SIGNING_SECRET)
        )
        assert status == 200
        return text

    def incident() -> Incident:
        with database.session() as session:
            return session.exec(select(Incident)).one()

    send(
        slack_requests.slash_command(
            "/incident",
            "Queue backlog growing",
            user_id="U0REPORTER",
            response_url=fake_slack.response_url(),
        )
    )
    call = fake_slack.wait_for("views.open")[-1]
    view = fake_slack.view(call.response["view"]["id"])
    values = slack_requests.fill(
        view, {"title": "Queue backlog growing", "impact": "medium", "urgency": "medium"}
    )
    send(slack_requests.view_submission(user_id="U0REPORTER", view=view, values=values))
    _wait(lambda: incident().message_ts)
    found = incident()
    message = fake_slack.message(found.channel_id, found.message_ts)
    send(
        slack_requests.click(
            message,
            "incident_acknowledge",
            user_id="U0AGENT1",
            channel_id=found.channel_id,
            message_ts=found.message_ts,
            response_url=fake_slack.response_url(),
        )
    )
    _wait(lambda: incident().status == "in_progress")
    _wait(lambda: "In progress" in str(fake_slack.message(found.channel_id, found.message_ts)))
    message = fake_slack.message(found.channel_id, found.message_ts)
    opened = len(fake_slack.calls("views.open"))
    send(
        slack_requests.click(
            message,
            "incident_resolve",
            user_id="U0AGENT1",
            channel_id=found.channel_id,
            message_ts=found.message_ts,
            response_url=fake_slack.response_url(),
        )
    )
    fake_slack.wait_for("views.open", count=opened + 1)
    view = fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])
    values = slack_requests.fill(view, {"resolution_code": "fixed", "note": "Scaled consumers"})
    assert send(slack_requests.view_submission(user_id="U0AGENT1", view=view, values=values)) == ""
    _wait(lambda: incident().status == "resolved")
    _wait(lambda: "Resolved" in str(fake_slack.message(found.channel_id, found.message_ts)))
