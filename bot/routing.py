"""A cheap first look at each listener before Bolt's own matcher.

Bolt tries the app's listeners in order, and the matcher it builds for each one first prepares
the keyword arguments a listener could take (about 10 µs a listener here). With more than a
hundred listeners that was over a millisecond on every request before any of our code ran, more
than a no-op Bolt app takes to answer. `RouteMatcher` goes first in each listener registered
by a command name, an action id, a view callback id or an options action id (a string or a
pattern, the only constraints the handlers use): it reads the request's family and id from the
body and says no at once to a listener of another family or id. It never says yes for Bolt:
whatever it lets through, Bolt's matcher still decides, so a listener runs exactly when it did
before (tests/bot/test_routing.py checks it agrees with Bolt's matchers on every shape).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.listener_matcher import ListenerMatcher

COMMAND, ACTION, VIEW, OPTIONS = "command", "action", "view", "options"
_ROUTE = "servicedesk_route"  # the request's route, worked out once, in its context
_UNSEEN = object()


def route(body: Any) -> tuple[str, str] | None:
    """(family, id) of the requests this module routes: a slash command's name, a block
    action's first action id (the one Bolt matches), a view submission's callback id, a block
    suggestion's action id. None for anything else (events, shortcuts, view_closed, legacy
    dialogs, a malformed body): those are left to Bolt's matchers alone."""
    if not isinstance(body, dict):
        return None
    if "command" in body:
        found = (COMMAND, body["command"])
    else:
        kind = body.get("type")
        if kind == "block_actions":
            actions = body.get("actions")
            first = actions[0] if isinstance(actions, list) and actions else None
            found = (ACTION, first.get("action_id") if isinstance(first, dict) else None)
        elif kind == "view_submission":
            view = body.get("view")
            found = (VIEW, view.get("callback_id") if isinstance(view, dict) else None)
        elif kind == "block_suggestion":
            found = (OPTIONS, body.get("action_id"))
        else:
            return None
    family, ident = found
    return (family, ident) if isinstance(ident, str) else None


class RouteMatcher(ListenerMatcher):
    """False for a request of another family, or of this family with another id; True
    otherwise (Bolt's matcher, next in the listener, makes the real decision)."""

    def __init__(self, family: str, constraint: str | re.Pattern[str]) -> None:
        self.family = family
        self.constraint = constraint

    def matches(self, req: BoltRequest, resp: BoltResponse) -> bool:
        found = req.context.get(_ROUTE, _UNSEEN)
        if found is _UNSEEN:
            found = req.context[_ROUTE] = route(req.body)
        if found is None:
            return True
        family, ident = found
        if family != self.family:
            return False
        if isinstance(self.constraint, str):
            return ident == self.constraint
        return self.constraint.search(ident) is not None


def routed(
    listeners: list[Any], family: str, constraint: Any, register: Callable[..., Any]
) -> Callable[..., Any]:
    """Wrap one of Bolt's registering decorators so that each listener it adds gets a
    RouteMatcher first. A constraint of another type (a dict) keeps Bolt's matching alone."""
    if not isinstance(constraint, str | re.Pattern):
        return register

    def register_routed(*args: Any, **kwargs: Any) -> Any:
        before = len(listeners)
        result = register(*args, **kwargs)
        for listener in listeners[before:]:
            listener.matchers.insert(0, RouteMatcher(family, constraint))
        return result

    return register_routed
