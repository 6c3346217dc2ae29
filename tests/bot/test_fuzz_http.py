"""Property: whatever arrives at /slack/events, signed or not, the real HTTP server answers it
without a 5xx and without hanging, and afterwards is healthy and logs incidents as before.

Hypothesis builds the requests: raw bytes, form and JSON bodies, and Slack-shaped payloads
(clicks, form submissions, type-ahead, commands, events) with parts replaced by values of the
wrong type or removed. Derandomized, so CI runs the same requests every time."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlmodel import select

from models.incident import Incident
from slackstub import requests as slack_requests
from tests.bot.conftest import sign_bytes

EXAMPLES = 250
# Replaced by a response URL the fake Slack serves when the request is sent, so answers to the
# response URL are quick and recorded rather than refused connections.
RESPONSE_URL = "RESPONSE-URL-PLACEHOLDER"
REF = json.dumps({"key": "INC-1", "channel": "C0INCIDENTS", "ts": "1700000000.000100"})


def _click(action: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U0AGENT1", "team_id": "T1"},
        "team": {"id": "T1", "domain": "test"},
        "api_app_id": "A1",
        "trigger_id": "1.2.trigger",
        "response_url": RESPONSE_URL,
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C1"},
        "channel": {"id": "C0INCIDENTS"},
        "message": {"ts": "1700000000.000100", "blocks": [], "text": "INC-1"},
        "actions": [action],
    }


def _form(callback_id: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": "U0AGENT1", "team_id": "T1"},
        "team": {"id": "T1", "domain": "test"},
        "view": {
            "id": "V0FUZZ",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": REF,
            "state": {"values": values},
        },
    }


def _text(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def _choice(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value}}


TEMPLATES: list[dict[str, Any]] = [
    _click({"type": "button", "action_id": "incident_acknowledge", "value": REF}),
    _click({"type": "button", "action_id": "incident_resolve", "value": REF}),
    _click({"type": "overflow", "action_id": "incident_more", "selected_option": {"value": "x"}}),
    _click({"type": "users_select", "action_id": "incident_assign", "selected_user": "U0AGENT2"}),
    _click({"type": "button", "action_id": "incident_log_titled", "value": "Mail is down"}),
    _form(
        "incident_new",
        {
            "title": {"title": _text("Mail is down")},
            "impact": {"impact": _choice("high")},
            "urgency": {"urgency": _choice("high")},
        },
    ),
    _form("incident_resolve", {"resolution_code": {"resolution_code": _choice("fixed")}}),
    _form("change_new", {"title": {"title": _text("Patch")}}),
    _form("problem_new", {"title": {"title": _text("Slow")}}),
    {
        "type": "block_suggestion",
        "user": {"id": "U0AGENT1"},
        "team": {"id": "T1"},
        "action_id": "service",
        "block_id": "service",
        "value": "pay",
    },
    {
        "type": "event_callback",
        "team_id": "T1",
        "event": {"type": "app_home_opened", "user": "U0AGENT1", "tab": "home"},
    },
]

COMMANDS = ["/incident", "/request", "/problem", "/change", "/release", "/ci", "/servicedesk"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**18, max_value=10**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "x" * 100_000, "INC-99999999999999999999", "%_%", "\x00", "²"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = []
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((*prefix, key))
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.append((*prefix, index))
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated_payloads(draw: st.DrawFn) -> bytes:
    """A realistic payload with one to three parts replaced by odd values or removed."""
    payload = copy.deepcopy(draw(st.sampled_from(TEMPLATES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(payload)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = payload
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()):
            parent[path[-1]] = draw(json_values)
        elif isinstance(parent, dict):
            del parent[path[-1]]
    text = json.dumps(payload)
    if payload.get("type") == "event_callback":
        return text.encode()
    return urlencode({"payload": text}).encode()


@st.composite
def odd_commands(draw: st.DrawFn) -> bytes:
    fields = {
        "command": draw(st.sampled_from(COMMANDS)),
        "text": draw(
            st.text(max_size=60)
            | st.sampled_from(["show INC-" + "9" * 30, "availability payments 99999999999d"])
            | st.builds(
                lambda w, n: f"{w} " + "9" * n,
                st.sampled_from(["show", "list"]),
                st.integers(0, 40),
            )
        ),
        "user_id": "U0AGENT1",
        "channel_id": "C1",
        "team_id": "T1",
        "trigger_id": "1.2.trigger",
        "response_url": RESPONSE_URL,
    }
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=2)):
        fields[name] = draw(st.text(max_size=50))
    return urlencode(fields).encode()


bodies = st.one_of(
    st.binary(max_size=600),
    st.builds(lambda raw: b"payload=" + raw, st.binary(max_size=200)),
    st.builds(lambda value: json.dumps(value).encode(), json_values),
    st.builds(lambda value: urlencode({"payload": json.dumps(value)}).encode(), json_values),
    mutated_payloads(),
    odd_commands(),
)
headers_kinds = st.sampled_from(["signed", "signed", "signed", "unsigned", "odd timestamp"])
content_types = st.sampled_from([None, "application/json", "application/x-www-form-urlencoded"])


def test_no_request_gets_a_5xx_or_hangs(http_server, fake_slack, database, caplog):
    caplog.set_level(logging.WARNING)
    statuses: dict[int, int] = {}

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=bodies, kind=headers_kinds, content_type=content_types)
    def one_request(body: bytes, kind: str, content_type: str | None) -> None:
        url = fake_slack.response_url()
        body = body.replace(
            RESPONSE_URL.encode(), (url if body.startswith(b"{") else quote(url, safe="")).encode()
        )
        headers = sign_bytes(body, content_type=content_type)
        if kind == "unsigned":
            headers["x-slack-signature"] = "v0=" + "0" * 64
        elif kind == "odd timestamp":
            headers = sign_bytes(body, content_type=content_type, timestamp="12e9")
        # urllib raises on a timeout: a hang fails the property.
        status, _ = http_server.post(body, headers, timeout=10)
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, body[:300]

    one_request()

    assert sum(statuses.values()) >= EXAMPLES
    assert statuses.get(400) and statuses.get(401) and statuses.get(200), statuses
    # Nothing a listener did failed unexpectedly (a failure would be logged with a reference).
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failures, failures[:5]
    assert http_server.healthz() == (200, b"ok\n")
    _log_an_incident(http_server, fake_slack, database)


def _log_an_incident(http_server, fake_slack, database) -> None:  # type: ignore[no-untyped-def]
    def send(body: str) -> None:
        status, _ = http_server.post(body.encode(), sign_bytes(body.encode()))
        assert status == 200

    opened = len(fake_slack.calls("views.open"))
    send(
        slack_requests.slash_command(
            "/incident",
            "Printer on fire",
            user_id="U0REPORTER",
            response_url=fake_slack.response_url(),
        )
    )
    call = fake_slack.wait_for("views.open", count=opened + 1)[-1]
    view = fake_slack.view(call.response["view"]["id"])
    values = slack_requests.fill(
        view, {"title": "Printer on fire", "impact": "high", "urgency": "high"}
    )
    send(slack_requests.view_submission(user_id="U0REPORTER", view=view, values=values))
    with database.session() as session:
        logged = session.exec(select(Incident).where(Incident.title == "Printer on fire")).all()
    assert len(logged) == 1 and logged[0].priority == 1
