"""`ack_then`: a listener that acks at once and runs the work after the ack."""

from __future__ import annotations

import inspect
from typing import Any

from handlers.common import ack_then


class _Ctx:
    """Only what `later` reaches: follow_up, recording the work it is handed."""

    def __init__(self) -> None:
        self.handed: list[tuple[Any, tuple[Any, ...]]] = []

    def follow_up(self, work: Any, *args: Any) -> None:
        self.handed.append((work, args))


def test_it_acks_first_and_hands_the_work_on_with_the_body_and_respond() -> None:
    ctx = _Ctx()
    order: list[str] = []

    def approve(body: dict[str, Any], respond: Any) -> None:
        order.append("work")

    listener = ack_then(ctx, approve)  # type: ignore[arg-type]
    body, respond = {"user": {"id": "U1"}}, object()
    listener(ack=lambda: order.append("ack"), body=body, respond=respond)
    assert order == ["ack"]
    assert ctx.handed == [(approve, (body, respond))]


def test_it_takes_the_works_name_for_bolts_logs() -> None:
    def _approve(body: dict[str, Any], respond: Any) -> None: ...

    assert ack_then(_Ctx(), _approve).__name__ == "_approve"  # type: ignore[arg-type]


def test_bolt_can_hand_it_the_arguments_it_names() -> None:
    # Bolt passes a listener the arguments its parameters name: these three.
    listener = ack_then(_Ctx(), lambda body, respond: None)  # type: ignore[arg-type]
    assert list(inspect.signature(listener).parameters) == ["ack", "body", "respond"]


def test_with_client_bolt_hands_it_the_client_and_the_work_gets_it_too() -> None:
    ctx = _Ctx()
    order: list[str] = []

    def open_form(body: dict[str, Any], client: Any, respond: Any) -> None: ...

    listener = ack_then(ctx, open_form, with_client=True)  # type: ignore[arg-type]
    assert list(inspect.signature(listener).parameters) == ["ack", "body", "client", "respond"]
    body, client, respond = {"trigger_id": "T1"}, object(), object()
    listener(ack=lambda: order.append("ack"), body=body, client=client, respond=respond)
    assert order == ["ack"]
    assert ctx.handed == [(open_form, (body, client, respond))]
    assert listener.__name__ == "open_form"
