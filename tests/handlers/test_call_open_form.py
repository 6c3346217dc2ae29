"""`Call.open_form`: a slash command opens a form with the trigger of the command typed."""

from __future__ import annotations

from typing import Any

from handlers.slash import Call


class _Client:
    def __init__(self) -> None:
        self.opened: list[dict[str, Any]] = []

    def views_open(self, **kwargs: Any) -> None:
        self.opened.append(kwargs)


def test_the_form_opens_with_the_commands_trigger() -> None:
    client = _Client()
    call = Call({"trigger_id": "13345.trigger", "user_id": "U1"}, client, print, ["new"])  # type: ignore[arg-type]
    call.open_form({"type": "modal", "callback_id": "prb_new"})
    assert client.opened == [
        {"trigger_id": "13345.trigger", "view": {"type": "modal", "callback_id": "prb_new"}}
    ]
