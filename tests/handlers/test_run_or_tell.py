"""`run_or_tell`: a service call in one transaction, a refusal told privately (handlers/common)."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from handlers.common import run_or_tell
from services.errors import NotAllowed


class _Db:
    def __init__(self) -> None:
        self.log: list[str] = []

    @contextmanager
    def session(self) -> Any:
        self.log.append("begin")
        try:
            yield "session"
        except Exception:
            self.log.append("rollback")
            raise
        self.log.append("commit")


def _answers() -> tuple[list[dict[str, Any]], Any]:
    told: list[dict[str, Any]] = []
    return told, lambda **answer: told.append(answer)


def test_the_work_runs_in_one_transaction_and_its_result_is_handed_back() -> None:
    ctx = SimpleNamespace(db=_Db())
    told, respond = _answers()
    assert run_or_tell(ctx, respond, lambda session: f"ran in {session}") == "ran in session"  # type: ignore[arg-type]
    assert ctx.db.log == ["begin", "commit"] and told == []


def test_a_refusal_is_rolled_back_and_told_to_the_person_alone() -> None:
    ctx = SimpleNamespace(db=_Db())
    told, respond = _answers()

    def refuse(session: Any) -> str:
        raise NotAllowed("Refused, because only agents may do that.")

    assert run_or_tell(ctx, respond, refuse) is None  # type: ignore[arg-type]
    assert ctx.db.log == ["begin", "rollback"]
    assert told == [
        {
            "text": "Refused, because only agents may do that.",
            "response_type": "ephemeral",
            "replace_original": False,
        }
    ]
