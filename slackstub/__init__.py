"""A stand-in for Slack: a fake Web API server and signed requests to the bot (the test
suite's), and `workspace.Workspace`, the same server with a page people use (the sandbox's)."""

from .requests import (
    DispatchResult,
    SignedDispatcher,
    block_actions,
    block_suggestion,
    click,
    event_callback,
    fill,
    find_element,
    sign,
    slash_command,
    url_verification,
    view_closed,
    view_submission,
)
from .server import Call, FakeSlack

__all__ = [
    "Call",
    "DispatchResult",
    "FakeSlack",
    "SignedDispatcher",
    "block_actions",
    "block_suggestion",
    "click",
    "event_callback",
    "fill",
    "find_element",
    "sign",
    "slash_command",
    "url_verification",
    "view_closed",
    "view_submission",
]
