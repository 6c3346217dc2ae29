"""`ack_then`: a listener that acks at once and runs the work after the ack, through the real
context (its follow-up executor runs the work at once in tests, after the ack)."""

from __future__ import annotations

import inspect
from typing import Any

from handlers.common import ack_then


def test_it_acks_first_then_runs_the_work_with_the_body_and_respond(ctx) -> None:
    order: list[Any] = []

    def approve(body: dict[str, Any], respond: Any) -> None:
        order.append(("work", body, respond))

    listener = ack_then(ctx, approve)
    body, respond = {"user": {"id": "U1"}}, object()
    listener(ack=lambda: order.append("ack"), body=body, respond=respond)
    assert order == ["ack", ("work", body, respond)]


def test_it_takes_the_works_name_for_bolts_logs(ctx) -> None:
    def _approve(body: dict[str, Any], respond: Any) -> None: ...

    assert ack_then(ctx, _approve).__name__ == "_approve"


def test_bolt_can_hand_it_the_arguments_it_names(ctx) -> None:
    # Bolt passes a listener the arguments its parameters name: these three.
    listener = ack_then(ctx, lambda body, respond: None)
    assert list(inspect.signature(listener).parameters) == ["ack", "body", "respond"]


def test_with_client_bolt_hands_it_the_client_and_the_work_gets_it_too(ctx) -> None:
    order: list[Any] = []

    def open_form(body: dict[str, Any], client: Any, respond: Any) -> None:
        order.append(("work", body, client, respond))

    listener = ack_then(ctx, open_form, with_client=True)
    assert list(inspect.signature(listener).parameters) == ["ack", "body", "client", "respond"]
    body, client, respond = {"trigger_id": "T1"}, ctx.client, object()
    listener(ack=lambda: order.append("ack"), body=body, client=client, respond=respond)
    assert order == ["ack", ("work", body, client, respond)]
    assert listener.__name__ == "open_form"


def test_a_failing_work_is_not_raised_into_bolt_after_the_ack(ctx) -> None:
    order: list[str] = []

    def broken(body: dict[str, Any], respond: Any) -> None:
        order.append("work")
        raise RuntimeError("after the ack")

    listener = ack_then(ctx, broken)
    # Logged and apologised for by the context, never raised into Bolt after the ack.
    listener(ack=lambda: order.append("ack"), body={"user": {"id": "U1"}}, respond=None)
    assert order == ["ack", "work"]
