"""`run_or_tell`: a service call in one transaction, a refusal told privately (handlers/common).
Against the real store: what the work wrote is committed, or rolled back with the refusal."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from handlers.common import run_or_tell
from models.problem import Problem
from services import problems
from services.errors import NotAllowed
from services.permissions import Actor, Role

AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))


def _answers() -> tuple[list[dict[str, Any]], Any]:
    told: list[dict[str, Any]] = []
    return told, lambda **answer: told.append(answer)


def _raise(session: Any, clock: Any, title: str) -> Problem:
    return problems.raise_problem(session, title=title, actor=AGENT, now=clock.now())


def _titles(database: Any) -> list[str]:
    with database.read_session() as session:
        return [p.title for p in session.exec(select(Problem).order_by(Problem.id))]


def test_the_work_is_committed_and_what_it_returns_is_handed_back(ctx, database, clock):
    told, respond = _answers()
    key = run_or_tell(ctx, respond, lambda session: _raise(session, clock, "Disk fills").key)
    assert key == "PRB-1"
    assert _titles(database) == ["Disk fills"] and told == []


def test_a_refusal_rolls_back_what_the_work_wrote_and_is_told_to_the_person_alone(
    ctx, database, clock
):
    told, respond = _answers()

    def refused_after_writing(session: Any) -> str:
        _raise(session, clock, "Never kept")
        raise NotAllowed("Refused, because only agents may do that.")

    assert run_or_tell(ctx, respond, refused_after_writing) is None
    assert _titles(database) == []
    assert told == [
        {
            "text": "Refused, because only agents may do that.",
            "response_type": "ephemeral",
            "replace_original": False,
        }
    ]


def test_an_error_that_is_not_a_refusal_is_not_swallowed(ctx, database, clock):
    told, respond = _answers()

    def broken(session: Any) -> str:
        _raise(session, clock, "Half written")
        raise KeyError("a bug")

    try:
        run_or_tell(ctx, respond, broken)
    except KeyError:
        pass
    else:
        raise AssertionError("a bug was reported to the person as a refusal")
    assert _titles(database) == [] and told == []
