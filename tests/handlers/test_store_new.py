"""`KindHandlers.store_new`: a New form's record is written before the ack, a refusal is shown
by the field it names (when the form has it) with nothing stored, and the record is announced
after the ack. Against the real store, the problem kind's handlers and the fake Slack."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from handlers.problems.listeners import ProblemHandlers
from models.problem import Problem
from services import problems
from services.errors import FieldError, InvalidInput, NotAllowed
from services.permissions import Actor, Role

AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))
VIEW = {"blocks": [{"block_id": "title"}, {"block_id": "start"}, {"type": "divider"}]}


def _acks() -> tuple[list[tuple[str, dict[str, Any]]], list[str], Any]:
    """The acks given, and an order log both the ack and the store write to."""
    calls: list[tuple[str, dict[str, Any]]] = []
    order: list[str] = []

    def ack(**answer: Any) -> None:
        order.append("ack")
        calls.append(("ack", answer))

    return calls, order, ack


def _stored(database: Any) -> list[str]:
    with database.read_session() as session:
        return [p.key for p in session.exec(select(Problem).order_by(Problem.id))]


def test_the_record_is_stored_then_acked_then_announced(ctx, database, clock, fake_slack):
    calls, order, ack = _acks()

    def store(session: Any) -> Problem:
        order.append("store")
        return problems.raise_problem(session, title="Disk fills", actor=AGENT, now=clock.now())

    ProblemHandlers(ctx).store_new(ack, VIEW, store, "title")
    assert order == ["store", "ack"] and calls == [("ack", {})]
    assert _stored(database) == ["PRB-1"]
    # Announced after the ack (the test context runs follow-up work at once).
    posted = [c.args for c in fake_slack.calls("chat.postMessage")]
    assert any("PRB-1" in str(args.get("text", "")) for args in posted)


def test_a_refusal_naming_a_field_of_the_form_is_shown_there_and_nothing_is_kept(
    ctx, database, clock, fake_slack
):
    calls, _, ack = _acks()

    def store(session: Any) -> Problem:
        problems.raise_problem(session, title="Never kept", actor=AGENT, now=clock.now())
        raise FieldError("start", "Starts after it ends.")

    ProblemHandlers(ctx).store_new(ack, VIEW, store, "title")
    assert calls == [
        ("ack", {"response_action": "errors", "errors": {"start": "Starts after it ends."}})
    ]
    assert _stored(database) == [] and fake_slack.calls("chat.postMessage") == []


def test_a_field_the_form_does_not_have_goes_to_the_default(ctx, database):
    calls, _, ack = _acks()

    def store(session: Any) -> Problem:
        raise FieldError("owner", "Choose an owner.")

    ProblemHandlers(ctx).store_new(ack, VIEW, store, "title")
    assert calls[0][1]["errors"] == {"title": "Choose an owner."}


def test_other_refusals_go_where_error_field_says(ctx, database):
    def pick(error: Any) -> str:
        return "title" if isinstance(error, InvalidInput) else "start"

    for refusal, field in (
        (NotAllowed("The calendar is frozen."), "start"),
        (InvalidInput("No."), "title"),
    ):
        calls, _, ack = _acks()

        def store(session: Any, refusal: Exception = refusal) -> Problem:
            raise refusal

        ProblemHandlers(ctx).store_new(ack, VIEW, store, pick)
        assert calls[0][1]["errors"] == {field: str(refusal)}
