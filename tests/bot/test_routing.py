"""bot/routing.py: the cheap first look says no only where Bolt's own matcher says no, and
every listener the bot registers by name gets it first."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.listener_matcher import builtins

from bot.routing import ACTION, COMMAND, OPTIONS, VIEW, RouteMatcher, route

BOLT = {
    COMMAND: builtins.command,
    ACTION: builtins.action,
    VIEW: builtins.view,
    OPTIONS: builtins.options,
}

CONSTRAINTS: list[str | re.Pattern[str]] = [
    "/incident",
    "incident_ack",
    "incident_new",
    "service",
    re.compile("^(incident_ack|incident_resolve)$"),
    re.compile("new"),
]

BODIES: list[dict[str, Any]] = [
    {"command": "/incident", "text": "list"},
    {"command": "/change", "text": ""},
    {"type": "block_actions", "actions": [{"action_id": "incident_ack", "value": "{}"}]},
    {"type": "block_actions", "actions": [{"action_id": "incident_resolve"}]},
    # Bolt matches the first action only.
    {"type": "block_actions", "actions": [{"action_id": "other"}, {"action_id": "incident_ack"}]},
    {"type": "block_actions", "actions": [{"action_id": "incident_new"}]},
    {"type": "view_submission", "view": {"type": "modal", "callback_id": "incident_new"}},
    {"type": "view_submission", "view": {"type": "modal", "callback_id": "incident_ack"}},
    {"type": "view_submission", "view": {"type": "modal", "callback_id": "renewal"}},
    {"type": "view_closed", "view": {"type": "modal", "callback_id": "incident_new"}},
    {"type": "block_suggestion", "action_id": "service", "value": "pay"},
    {"type": "block_suggestion", "action_id": "incident_new", "value": ""},
    {"type": "dialog_suggestion", "callback_id": "service", "value": ""},
    {"type": "dialog_submission", "callback_id": "incident_ack"},
    {"type": "interactive_message", "callback_id": "incident_ack", "actions": [{"name": "x"}]},
    {"type": "shortcut", "callback_id": "incident_new"},
    {"type": "message_action", "callback_id": "incident_new"},
    {"type": "event_callback", "event": {"type": "app_home_opened"}},
]


def _request(body: dict[str, Any]) -> BoltRequest:
    return BoltRequest(body=body, headers={}, mode="socket_mode")


@pytest.mark.parametrize(
    ("family", "constraint", "body"), list(itertools.product(BOLT, CONSTRAINTS, BODIES))
)
def test_route_matcher_never_refuses_what_bolt_matches(family, constraint, body) -> None:
    bolt = BOLT[family](constraint).matches(_request(body), BoltResponse(status=200))
    ours = RouteMatcher(family, constraint).matches(_request(body), BoltResponse(status=200))
    if bolt:
        assert ours, "the first look refused a request Bolt's matcher takes"
    if route(body) is not None:
        # For the four routed shapes it decides exactly as Bolt does.
        assert ours == bolt


@pytest.mark.parametrize(
    "body",
    [
        {"type": "block_actions", "actions": []},
        {"type": "block_actions", "actions": "x"},
        {"type": "block_actions", "actions": [{"action_id": 7}]},
        {"type": "view_submission", "view": None},
        {"type": "view_submission"},
        {"type": "block_suggestion", "action_id": None},
        {"command": None},
        {"type": ["block_actions"]},
    ],
)
def test_malformed_bodies_are_left_to_bolt(body) -> None:
    """A body whose id cannot be read is not routed: Bolt's matcher sees it as before."""
    assert route(body) is None
    assert RouteMatcher(ACTION, "incident_ack").matches(_request(body), BoltResponse(status=200))


def test_route_is_read_once_per_request() -> None:
    request = _request(
        {"type": "view_submission", "view": {"type": "modal", "callback_id": "incident_new"}}
    )
    assert RouteMatcher(VIEW, "incident_new").matches(request, BoltResponse(status=200))
    request.body["view"]["callback_id"] = "changed after the first look"
    # The second listener reuses what the first worked out for this request.
    assert RouteMatcher(VIEW, "incident_new").matches(request, BoltResponse(status=200))
    assert not RouteMatcher(VIEW, "other").matches(request, BoltResponse(status=200))


def test_every_listener_registered_by_name_gets_the_first_look(bolt_app) -> None:
    listeners = bolt_app._listeners
    first = [listener.matchers[0] for listener in listeners]
    routed = [m for m in first if isinstance(m, RouteMatcher)]
    others = [
        listener.ack_function.__name__
        for listener in listeners
        if not isinstance(listener.matchers[0], RouteMatcher)
    ]
    # Only the event and the message shortcut are registered another way.
    assert sorted(others) == ["_add_to_timeline", "on_home_opened"]
    assert len(routed) > 100
    # Each keeps Bolt's own matcher right behind it.
    assert all(
        len(listener.matchers) >= 2 for listener in listeners if listener.matchers[0] in routed
    )
    assert {m.family for m in routed} == {COMMAND, ACTION, VIEW, OPTIONS}


def test_a_dict_constraint_keeps_bolts_matching_alone(bolt_app) -> None:
    before = len(bolt_app._listeners)
    bolt_app.view({"type": "view_closed", "callback_id": "routing_test"})(lambda ack: ack())
    added = bolt_app._listeners[before:]
    assert len(added) == 1
    assert not isinstance(added[0].matchers[0], RouteMatcher)


def test_routed_requests_reach_the_right_listener_through_the_app(bolt_app, slack) -> None:
    """Signed requests through the real App: the first listener that matches runs, in the
    order they were registered, whatever family the others are."""
    from slackstub import requests as slack_requests

    ran: list[str] = []

    def listener(name: str):  # type: ignore[no-untyped-def]
        def run(ack) -> None:  # type: ignore[no-untyped-def]
            ran.append(name)
            ack()

        return run

    bolt_app.view("routing_b")(listener("view routing_b"))
    bolt_app.action("routing_a")(listener("action routing_a"))
    bolt_app.action(re.compile("^routing_"))(listener("action pattern"))
    bolt_app.action("routing_b")(listener("action routing_b, never reached"))

    def click(action_id: str) -> None:
        slack.dispatch(
            slack_requests.block_actions(
                user_id="U1",
                channel_id="C1",
                message={"ts": "1.1", "blocks": []},
                actions=[{"type": "button", "action_id": action_id, "block_id": "b"}],
                response_url=slack.fake.response_url(),
            )
        )

    click("routing_b")
    click("routing_a")
    view = {"id": "V1", "type": "modal", "callback_id": "routing_b", "private_metadata": ""}
    answer = slack.dispatch(slack_requests.view_submission(user_id="U1", view=view, values={}))
    assert answer.status == 200
    assert ran == ["action pattern", "action routing_a", "view routing_b"]
