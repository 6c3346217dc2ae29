"""The stand-in's page API (slackstub.Workspace) over HTTP: what the page sends reaches an app
signed as Slack signs it, and the app's answers land where Slack would put them."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from slackstub.workspace import Person, Workspace

SECRET = "0123456789abcdef0123456789abcdef"
ERIN = Person("U0ERIN", "Erin", "engineer")
OTTO = Person("U0OTTO", "Otto", "on-call")

Answer = Callable[[dict[str, Any]], tuple[int, Any]]


class RecordingApp:
    """A stand-in app on loopback: checks every request's signature, records its payload and
    answers with what `answer` returns."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answer: Answer = lambda payload: (200, "")
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                verified = SignatureVerifier(SECRET).is_valid(
                    raw,
                    self.headers["X-Slack-Request-Timestamp"],
                    self.headers["X-Slack-Signature"],
                )
                form = dict(parse_qsl(raw))
                payload = json.loads(form["payload"]) if "payload" in form else form
                if raw.startswith("{"):
                    payload = json.loads(raw)
                payload["_verified"] = verified
                app.received.append(payload)
                status, body = app.answer(payload) if verified else (401, "bad signature")
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def app() -> Iterator[RecordingApp]:
    recording = RecordingApp()
    yield recording
    recording.stop()


@pytest.fixture
def workspace(app: RecordingApp) -> Iterator[Workspace]:
    with Workspace(
        people=[ERIN, OTTO],
        channels={"C0INC": "incidents"},
        signing_secret=SECRET,
        request_url=app.url,
    ) as running:
        yield running


def page_call(workspace: Workspace, path: str, body: Any) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(workspace.origin + path, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def get(workspace: Workspace, path: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(workspace.origin + path, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def bot(workspace: Workspace) -> WebClient:
    return WebClient(token="xoxb-test", base_url=workspace.url)


def test_the_page_and_its_assets_are_served_and_nothing_else(workspace: Workspace) -> None:
    status, kind, body = get(workspace, "/")
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert b"/static/app.js" in body
    assert get(workspace, "/static/app.js")[:2] == (200, "text/javascript; charset=utf-8")
    assert get(workspace, "/static/server.py")[0] == 404
    assert get(workspace, "/static/..%2Fserver.py")[0] == 404
    assert get(workspace, "/static/.hidden")[0] == 404
    assert get(workspace, "/files/F404")[0] == 404


def test_a_slash_command_reaches_the_app_signed_and_its_answer_shows_only_to_its_sender(
    workspace: Workspace, app: RecordingApp
) -> None:
    app.answer = lambda payload: (200, {"text": f"you said {payload['text']}"})
    assert page_call(
        workspace, "/sandbox/send", {"user": ERIN.id, "channel": "C0INC", "text": "/incident list"}
    ) == (200, {"ok": True})
    (received,) = app.received
    assert received["_verified"] is True
    assert (received["command"], received["text"], received["user_id"]) == (
        "/incident", "list", ERIN.id
    )
    seen = workspace.state(user=ERIN.id, channel="C0INC")
    assert [e["text"] for e in seen["ephemerals"]] == ["you said list"]
    assert workspace.state(user=OTTO.id, channel="C0INC")["ephemerals"] == []


def test_a_failing_app_is_reported_to_the_sender(workspace: Workspace, app: RecordingApp) -> None:
    app.answer = lambda payload: (500, "boom")
    status, answer = page_call(
        workspace, "/sandbox/send", {"user": ERIN.id, "channel": "C0INC", "text": "/incident"}
    )
    assert status == 200 and answer["ok"] is False
    (ephemeral,) = workspace.state(user=ERIN.id, channel="C0INC")["ephemerals"]
    assert "answered HTTP 500" in ephemeral["text"]


def test_plain_text_is_posted_as_the_persons_message(workspace: Workspace) -> None:
    page_call(workspace, "/sandbox/send", {"user": OTTO.id, "channel": "C0INC", "text": "hello"})
    (message,) = workspace.state(user=ERIN.id, channel="C0INC")["messages"]
    assert (message["user"], message["text"]) == (OTTO.id, "hello")


def test_a_click_answered_through_response_url_replaces_the_message(
    workspace: Workspace, app: RecordingApp
) -> None:
    posted = bot(workspace).chat_postMessage(
        channel="C0INC",
        text="INC-1",
        blocks=[{"type": "actions", "block_id": "b", "elements": [
            {"type": "button", "action_id": "ack", "text": {"type": "plain_text", "text": "Ack"}}
        ]}],
    )

    def answer(payload: dict[str, Any]) -> tuple[int, Any]:
        reply = json.dumps({"replace_original": True, "text": "INC-1 acknowledged"}).encode()
        urllib.request.urlopen(
            urllib.request.Request(
                payload["response_url"], data=reply, headers={"Content-Type": "application/json"}
            ),
            timeout=5,
        ).read()
        return 200, ""

    app.answer = answer
    action = {"type": "button", "action_id": "ack", "block_id": "b", "value": "1"}
    assert page_call(workspace, "/sandbox/action", {
        "user": OTTO.id, "channel": "C0INC", "message_ts": posted["ts"], "action": action,
    })[0] == 200
    (received,) = app.received
    assert received["type"] == "block_actions" and received["user"]["id"] == OTTO.id
    assert received["container"]["message_ts"] == posted["ts"]
    (message,) = workspace.state(user=ERIN.id, channel="C0INC")["messages"]
    assert message["text"] == "INC-1 acknowledged" and "edited" in message


def test_a_modal_opened_by_a_command_belongs_to_its_sender_and_its_submission_is_answered(
    workspace: Workspace, app: RecordingApp
) -> None:
    view = {
        "type": "modal", "callback_id": "new", "title": {"type": "plain_text", "text": "New"},
        "blocks": [{"type": "input", "block_id": "title", "label": {"type": "plain_text",
                    "text": "Title"}, "element": {"type": "plain_text_input", "action_id": "t"}}],
    }
    answers: list[tuple[int, Any]] = []

    def answer(payload: dict[str, Any]) -> tuple[int, Any]:
        if payload.get("command"):
            bot(workspace).views_open(trigger_id=payload["trigger_id"], view=view)
            return 200, ""
        return answers.pop(0)

    app.answer = answer
    page_call(workspace, "/sandbox/send", {"user": ERIN.id, "channel": "C0INC", "text": "/new"})
    (opened,) = workspace.state(user=ERIN.id, channel="C0INC")["modals"]
    assert workspace.state(user=OTTO.id, channel="C0INC")["modals"] == []

    answers.append((200, {"response_action": "errors", "errors": {"title": "Too short"}}))
    values = {"title": {"t": {"type": "plain_text_input", "value": "x"}}}
    status, result = page_call(
        workspace, "/sandbox/submit", {"user": ERIN.id, "view_id": opened["id"], "values": values}
    )
    assert result == {"ok": False, "errors": {"title": "Too short"}}
    assert app.received[-1]["view"]["state"]["values"] == values
    (still_open,) = workspace.state(user=ERIN.id, channel="C0INC")["modals"]
    assert still_open["errors"] == {"title": "Too short"}

    pushed = {**view, "title": {"type": "plain_text", "text": "Step 2"}}
    answers.append((200, {"response_action": "push", "view": pushed}))
    page_call(workspace, "/sandbox/submit", {"user": ERIN.id, "view_id": opened["id"]})
    stack = workspace.state(user=ERIN.id, channel="C0INC")["modals"]
    assert [m["title"]["text"] for m in stack] == ["New", "Step 2"]

    answers.append((200, ""))
    page_call(workspace, "/sandbox/submit", {"user": ERIN.id, "view_id": stack[1]["id"]})
    assert [m["id"] for m in workspace.state(user=ERIN.id, channel="C0INC")["modals"]] == [
        opened["id"]
    ]
    answers.append((200, {"response_action": "clear"}))
    page_call(workspace, "/sandbox/submit", {"user": ERIN.id, "view_id": opened["id"]})
    assert workspace.state(user=ERIN.id, channel="C0INC")["modals"] == []


def test_type_ahead_returns_the_apps_options(workspace: Workspace, app: RecordingApp) -> None:
    options = [{"text": {"type": "plain_text", "text": "payments"}, "value": "payments"}]
    app.answer = lambda payload: (200, {"options": options})
    status, answer = page_call(workspace, "/sandbox/suggest", {
        "user": ERIN.id, "action_id": "service", "block_id": "service", "value": "pay",
    })
    assert answer == {"ok": True, "options": options, "option_groups": []}
    assert (app.received[0]["type"], app.received[0]["value"]) == ("block_suggestion", "pay")


def test_the_state_is_only_the_version_when_nothing_changed(workspace: Workspace) -> None:
    first = workspace.state(user=ERIN.id, channel="C0INC")
    assert workspace.state(user=ERIN.id, channel="C0INC", since=first["version"]) == {
        "version": first["version"]
    }
    bot(workspace).chat_postMessage(channel="C0INC", text="new")
    assert workspace.state(user=ERIN.id, channel="C0INC", since=first["version"])["messages"]


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        ("/sandbox/send", b"not json", 400, "not JSON"),
        ("/sandbox/send", b"[1]", 400, "JSON object"),
        ("/sandbox/send", {"user": "U0NOBODY", "channel": "C0INC", "text": "/x"}, 400, "no person"),
        ("/sandbox/send", {"user": ERIN.id, "channel": "C0NOPE", "text": "/x"}, 400, "no channel"),
        ("/sandbox/send", {"user": ERIN.id, "channel": "C0INC", "text": "  "}, 400, "nothing"),
        ("/sandbox/action", {"user": ERIN.id, "action": "x"}, 400, "action_id"),
        ("/sandbox/submit", {"user": ERIN.id, "view_id": "V404"}, 400, "no view"),
        ("/sandbox/send", b"{" + b" " * 300_000 + b"}", 413, "too large"),
        ("/sandbox/nope", {}, 404, "not found"),
    ],
)
def test_bad_page_calls_are_refused_with_a_reason(
    workspace: Workspace, app: RecordingApp, path: str, body: Any, status: int, reason: str
) -> None:
    got_status, answer = page_call(workspace, path, body)
    assert got_status == status
    assert reason in str(answer)
    assert app.received == []
