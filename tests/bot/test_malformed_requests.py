"""Malformed or odd requests get a 4xx or a plain answer: never a 500, never silence.

Raw bytes go through the real HTTP server; Slack-shaped payloads with wrong types and odd typed
input go through the real Bolt App (the same gate serves HTTP and Socket Mode)."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from urllib.parse import urlencode

import pytest

from slackstub import requests as slack_requests
from tests.bot.conftest import sign_bytes
from tests.conftest import SIGNING_SECRET


def form(payload: object) -> str:
    return urlencode({"payload": json.dumps(payload)})


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# ---- bodies Bolt could not even parse: 400 when signed, 401 when not ------------------------

UNPARSEABLE = {
    "random bytes": (bytes(range(256)) * 8, None),
    "payload= that is not JSON": (b"payload=%7Bnot+json", None),
    "payload= that is a JSON list": (b"payload=%5B1%2C2%5D", None),
    "payload= that is a JSON string": (b"payload=%22text%22", None),
    "nesting that exhausts the stack": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, None),
    "nesting deeper than Slack's": (
        b'{"type":"block_actions","x":' + b"[" * 200 + b"]" * 200 + b"}",
        None,
    ),
    "JSON that is a list": (b"[1, 2, 3]", "application/json"),
    "JSON that is a number": (b"5", "application/json"),
    "a number too long to read": (b'{"type":' + b"9" * 5000 + b"}", None),
    "truncated JSON": (b'{"type": "block_actions", "actions": [', None),
    "JSON that is not UTF-8": (b'{"type": "\xff\xfe"}', None),
}


@pytest.mark.parametrize("name", list(UNPARSEABLE))
def test_signed_unparseable_body_gets_400(http_server, name, caplog):
    body, content_type = UNPARSEABLE[name]
    status, _ = http_server.post_signed(body, content_type=content_type)
    assert status == 400
    assert not errors_logged(caplog)
    assert http_server.healthz() == (200, b"ok\n")


@pytest.mark.parametrize("name", list(UNPARSEABLE))
def test_unsigned_unparseable_body_gets_401(http_server, name):
    body, content_type = UNPARSEABLE[name]
    headers = sign_bytes(body, content_type=content_type)
    headers["x-slack-signature"] = "v0=" + "0" * 64
    assert http_server.post(body, headers)[0] == 401


@pytest.mark.parametrize("timestamp", ["soon", "", "1.5", "-1", "¹²³" * 3, "9" * 40, " 1700000000"])
def test_timestamp_that_is_not_a_number_gets_401(http_server, timestamp, caplog):
    body = slack_requests.slash_command("/incident", "list").encode()
    headers = sign_bytes(body, timestamp=timestamp)
    assert http_server.post(body, headers)[0] == 401
    assert not errors_logged(caplog)


def test_body_over_a_megabyte_is_refused_before_it_is_read(http_server):
    # waitress answers from the headers alone, so send only those.
    host, port = http_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n"
        )
        status_line = connection.recv(200).split(b"\r\n")[0]
    assert b" 413 " in status_line


# ---- Slack-shaped payloads with the wrong types -----------------------------------------------


def _actions(actions: object, **extra: object) -> dict:
    return {
        "type": "block_actions",
        "user": {"id": "U0AGENT1"},
        "trigger_id": "1.2.trigger",
        "team": {"id": "T1"},
        "actions": actions,
        **extra,
    }


def _submission(view: object) -> dict:
    return {
        "type": "view_submission",
        "user": {"id": "U0AGENT1"},
        "team": {"id": "T1"},
        "view": view,
    }


def _view(values: object) -> dict:
    return {"id": "V1", "type": "modal", "callback_id": "incident_new", "state": {"values": values}}


WRONG_SHAPES = {
    "overflow click without selected_option": _actions(
        [{"type": "overflow", "action_id": "incident_more", "block_id": "b"}]
    ),
    "overflow option that is not an object": _actions(
        [{"type": "overflow", "action_id": "incident_more", "selected_option": "x"}]
    ),
    "actions empty": _actions([]),
    "actions not objects": _actions([5, "x"]),
    "actions a string": _actions("incident_acknowledge"),
    "action_id a number": _actions([{"action_id": 5, "value": "x"}]),
    "button value a number": _actions([{"action_id": "incident_acknowledge", "value": 7}]),
    "datetime beyond any calendar": _actions(
        [{"action_id": "x", "type": "datetimepicker", "selected_date_time": 10**20}]
    ),
    "null view on a click": _actions([{"action_id": "incident_acknowledge"}], view=None),
    "no user": {"type": "block_actions", "trigger_id": "t", "actions": [{"action_id": "a"}]},
    "null view on a submission": _submission(None),
    "view a string": _submission("incident_new"),
    "state values entries strings": _submission(_view({"title": "Mail is down"})),
    "state values entries null": _submission(_view({"title": None})),
    "element state null": _submission(_view({"title": {"title": None}})),
    "element value a number": _submission(_view({"title": {"title": {"value": 5}}})),
    "state values a list": _submission(_view([1, 2])),
    "type-ahead value a number": {
        "type": "block_suggestion",
        "user": {"id": "U0AGENT1"},
        "action_id": "service",
        "block_id": "service",
        "value": 12345,
    },
    "user id longer than Slack's": _actions(
        [{"action_id": "incident_acknowledge"}], user={"id": "U" * 100}
    ),
    "response URL that is not a URL": _actions(
        [{"action_id": "incident_acknowledge"}], response_url="javascript:alert(1)"
    ),
    "view id longer than any": _submission({**_view({}), "id": "V" * 100}),
    "home opened without its user": {
        "type": "event_callback",
        "event": {"type": "app_home_opened"},
    },
    "event a string": {"type": "event_callback", "event": "app_home_opened"},
    "type a number": {"type": 5, "user": {"id": "U1"}},
}


@pytest.mark.parametrize("name", list(WRONG_SHAPES))
def test_wrongly_typed_payload_gets_400(slack, fake_slack, name, caplog):
    result = slack.dispatch(form(WRONG_SHAPES[name]))
    assert result.status == 400, result.body
    assert not errors_logged(caplog)
    assert not fake_slack.calls("views.open") and not fake_slack.calls("chat.postMessage")


def test_command_with_a_user_id_longer_than_slacks_gets_400(slack):
    assert slack.command("/incident", "list", user_id="U" * 33).status == 400


@pytest.mark.parametrize("command", ["/ci", "/problem", "/incident"])
def test_nul_character_gets_400_not_a_database_error(slack, caplog, command):
    # Found by the fuzz test on PostgreSQL, which cannot store NUL in a text column.
    assert slack.command(command, "known-errors a\x00b", user_id="U0AGENT1").status == 400
    assert not errors_logged(caplog)


def test_kind_of_request_without_a_listener_gets_404(slack, caplog):
    shortcut = {"type": "shortcut", "callback_id": "x", "user": {"id": "U1"}, "trigger_id": "t"}
    assert slack.dispatch(form(shortcut)).status == 404
    assert not errors_logged(caplog)


def test_wrongly_typed_payload_gets_400_over_http(http_server):
    body = form(WRONG_SHAPES["state values entries null"]).encode()
    assert http_server.post_signed(body)[0] == 400


def test_overflow_click_without_a_type_or_a_choice_is_answered(slack, fake_slack, caplog):
    # Past the gate (no type says it is an overflow), the listener reads the choice defensively.
    body = form(
        _actions(
            [{"action_id": "incident_more", "block_id": "b"}],
            response_url=fake_slack.response_url(),
        )
    )
    result = slack.dispatch(body)
    assert result.status == 200
    answer = fake_slack.wait_for("response_url")[-1].args
    assert "unknown" in answer["text"]
    assert not errors_logged(caplog)


def test_type_ahead_of_100000_characters_gets_no_options(slack, caplog):
    body = slack_requests.block_suggestion(
        user_id="U0AGENT1", action_id="service", block_id="service", value="x" * 100_000
    )
    result = slack.dispatch(body)
    assert result.status == 200 and result.body == {"options": []}
    assert not errors_logged(caplog)


def test_type_ahead_still_suggests(slack):
    body = slack_requests.block_suggestion(
        user_id="U0AGENT1", action_id="service", block_id="service", value="pay"
    )
    result = slack.dispatch(body)
    assert [o["text"]["text"] for o in result.body["options"]][:1] == ["payments"] or any(
        "payments" in json.dumps(o) for o in result.body["options"]
    )


# ---- input a person can type is always answered ----------------------------------------------

BIG = "9" * 25
LONG = "x" * 100_000
TYPED = [
    ("/incident", "show INC-99999999999999999999"),
    ("/incident", "show INC-2147483648"),
    ("/incident", "show INC-²"),
    ("/incident", "list P" + BIG),
    ("/incident", "word " * 40),
    ("/request", "show REQ-" + BIG),
    ("/problem", "show PRB-" + BIG),
    ("/problem", "known-errors " + "%_" * 200),
    ("/change", "show CHG-" + BIG),
    ("/change", "calendar " + BIG),
    ("/change", "calendar ²"),
    ("/release", "show REL-" + BIG),
    ("/ci", "show CI-" + BIG),
    ("/ci", "%" * 500),
    ("/servicedesk", "availability payments 99999999999d"),
    ("/servicedesk", "availability " + BIG + "h"),
    ("/servicedesk", "availability ²d"),
]
TYPED += [(command, LONG) for command in ("/incident", "/request", "/problem", "/change")]
TYPED += [(command, LONG) for command in ("/release", "/ci", "/servicedesk")]
TYPED += [("/ci", "show " + LONG), ("/incident", "show " + "INC-1" * 101)]


def answer_to(result, fake_slack) -> str:  # type: ignore[no-untyped-def]
    """What the person saw: the ack's own message, or what was sent to the response URL, or
    the form that opened."""
    if result is not None and isinstance(result.body, dict) and result.body.get("text"):
        return result.body["text"]
    calls = fake_slack.calls("response_url") + fake_slack.calls("views.open")
    return json.dumps(calls[-1].args) if calls else ""


@pytest.mark.parametrize(
    ("command", "text"), TYPED, ids=[f"{c} {t[:24]}({len(t)})" for c, t in TYPED]
)
def test_typed_input_is_always_answered(slack, fake_slack, command, text, caplog):
    result = slack.command(command, text, user_id="U0AGENT1")
    assert result.status == 200
    answer = answer_to(result, fake_slack)
    assert answer, f"{command} {text[:40]!r} got no answer"
    assert "Traceback" not in answer and "reference" not in answer
    assert not errors_logged(caplog)


def test_the_answers_say_what_is_wrong(slack, fake_slack):
    result = slack.command("/ci", LONG, user_id="U0AGENT1")
    assert "100,000 characters" in result.body["text"] and "at most 500" in result.body["text"]
    slack.command("/incident", "show INC-99999999999999999999", user_id="U0AGENT1")
    assert "There is no incident INC-99999999999999999999" in answer_to(None, fake_slack)
    slack.command("/servicedesk", "availability payments 99999999999d", user_id="U0AGENT1")
    assert "at most ten years" in answer_to(None, fake_slack)
    slack.command("/incident", "word " * 40, user_id="U0AGENT1")
    assert "at most 150 characters" in answer_to(None, fake_slack)


# ---- failures after the ack, and in the ack, answer with a reference ----------------------------


def _reference(text: str) -> str:
    found = re.search(r"reference: `([0-9a-f]{8})`", text)
    assert found, text
    return found.group(1)


def test_failed_follow_up_apologises_with_the_logged_reference(slack, fake_slack, caplog):
    # Slack refuses to open the form: the command's follow-up fails after the ack.
    fake_slack.fail_next(
        "views.open", status=200, body={"ok": False, "error": "expired_trigger_id"}
    )
    result = slack.command("/incident", "", user_id="U0AGENT1")
    assert result.status == 200
    apology = fake_slack.wait_for("response_url")[-1].args
    assert apology["response_type"] == "ephemeral" and "Sorry" in apology["text"]
    reference = _reference(apology["text"])
    [logged] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert reference in logged.getMessage() and "expired_trigger_id" in logged.getMessage()


def test_failed_follow_up_without_a_response_url_apologises_by_direct_message(
    slack, fake_slack, caplog
):
    # A click from a modal carries no response URL: the apology goes to the person directly.
    fake_slack.fail_next(
        "views.open", status=200, body={"ok": False, "error": "expired_trigger_id"}
    )
    body = form(
        _actions(
            [{"action_id": "incident_log_titled", "value": "Mail is down"}],
            view={"id": "V9", "type": "modal", "callback_id": "x", "state": {"values": {}}},
        )
    )
    assert slack.dispatch(body).status == 200
    direct = fake_slack.wait_for("chat.postMessage")[-1].args
    assert direct["channel"] == "U0AGENT1"
    reference = _reference(direct["text"])
    assert any(reference in m for m in errors_logged(caplog))


def test_listener_that_raises_answers_the_command_with_a_reference(bolt_app, slack, caplog):
    @bolt_app.command("/explode")
    def explode(ack):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    result = slack.command("/explode", "now", user_id="U0AGENT1")
    assert result.status == 200 and result.body["response_type"] == "ephemeral"
    reference = _reference(result.body["text"])
    [logged] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert reference in logged.getMessage() and logged.exc_info is not None


def test_form_whose_listener_raises_keeps_the_form_and_pushes_an_apology(bolt_app, slack):
    @bolt_app.view("explode_form")
    def explode(ack, view):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    view = {"id": "V7", "type": "modal", "callback_id": "explode_form", "state": {"values": {}}}
    result = slack.dispatch(slack_requests.view_submission(user_id="U0AGENT1", view=view))
    assert result.status == 200
    assert result.body["response_action"] == "push"
    _reference(json.dumps(result.body["view"]))


def test_click_whose_listener_raises_gets_an_empty_answer_and_an_apology(
    bolt_app, slack, fake_slack
):
    @bolt_app.action("explode_button")
    def explode(ack):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    body = form(_actions([{"action_id": "explode_button"}], response_url=fake_slack.response_url()))
    result = slack.dispatch(body)
    assert result.status == 200 and not result.body
    _reference(fake_slack.wait_for("response_url")[-1].args["text"])


def test_type_ahead_whose_listener_raises_gets_no_options(bolt_app, slack, caplog):
    @bolt_app.options("explode_select")
    def explode(ack):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    body = slack_requests.block_suggestion(
        user_id="U0AGENT1", action_id="explode_select", block_id="b", value="pay"
    )
    result = slack.dispatch(body)
    assert result.status == 200 and result.body == {"options": []}
    assert any(re.search(r"reference [0-9a-f]{8}", m) for m in errors_logged(caplog))


# ---- forged requests are logged in one short line --------------------------------------------


def test_bad_signature_is_logged_in_one_short_line_without_the_body(http_server, caplog):
    caplog.set_level(logging.DEBUG)
    marker = "GARBAGE-MARKER"
    body = (marker * 600).encode()  # about 8 KB
    headers = sign_bytes(body)
    headers["x-slack-signature"] = "v0=" + "1" * 64
    assert http_server.post(body, headers)[0] == 401
    assert not [r for r in caplog.records if marker in r.getMessage()]
    refused = [r for r in caplog.records if "signature" in r.getMessage()]
    assert len(refused) == 1
    assert refused[0].levelno == logging.WARNING and len(refused[0].getMessage()) < 120


def test_bad_signature_through_the_app_is_logged_the_same_way(slack, caplog):
    caplog.set_level(logging.DEBUG)
    body = slack_requests.slash_command("/incident", "GARBAGE-MARKER " * 400)
    headers = slack_requests.sign(body, "0" * 32)
    assert slack.send(body, headers).status == 401
    assert not [r for r in caplog.records if "GARBAGE-MARKER" in r.getMessage()]
    assert len([r for r in caplog.records if "signature" in r.getMessage()]) == 1


def test_stale_request_is_refused(slack):
    body = slack_requests.slash_command("/incident", "list")
    stale = slack_requests.sign(body, SIGNING_SECRET, timestamp=int(time.time()) - 301)
    assert slack.send(body, stale).status == 401
