"""A small table-driven lifecycle: which action moves a record from which states to which."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from services import audit
from services.errors import NotAllowed


@dataclass(frozen=True)
class Move:
    sources: frozenset[str]
    target: str | None  # None: the action keeps the state (assign, escalate, …)


class Lifecycle:
    """Moves by action name; `check` refuses what the lifecycle does not allow, in plain words.

    `final` names the states a record rests in for good. Every other state must offer a way
    forward (tests/services/test_lifecycles.py holds every kind to that), so a record can never
    be stuck in a state nobody can leave."""

    def __init__(
        self,
        record_kind: str,
        moves: Mapping[str, tuple[Iterable[str], str | None]],
        *,
        label: Callable[[str], str],
        action_label: Mapping[str, str],
        final: Iterable[str] = (),
    ) -> None:
        self.record_kind = record_kind
        self.moves = {name: Move(frozenset(src), dst) for name, (src, dst) in moves.items()}
        self.final = frozenset(str(state) for state in final)
        self._label = label
        self._action_label = action_label

    def allowed(self, action: str, state: str) -> bool:
        move = self.moves.get(action)
        return move is not None and state in move.sources

    def actions_from(self, state: str) -> list[str]:
        return [name for name, move in self.moves.items() if state in move.sources]

    def ways_forward(self, state: str) -> list[str]:
        """The actions that take a record in `state` to another state."""
        return [
            name
            for name, move in self.moves.items()
            if state in move.sources and move.target is not None and move.target != state
        ]

    def check(self, action: str, state: str, *, key: str) -> str:
        """The state after `action`, or NotAllowed explaining why not."""
        move = self.moves[action]
        if state not in move.sources:
            where = " or ".join(sorted(self._label(s) for s in move.sources))
            raise NotAllowed(
                f"{key} is {self._label(state)}, so it cannot be "
                f"{self._action_label.get(action, action)} now; "
                f"that is only possible when it is {where}."
            )
        return move.target if move.target is not None else state

    def move(
        self,
        session: Session,
        record: Any,
        action: str,
        *,
        actor: str,
        now: datetime,
        note: str | None = None,
    ) -> None:
        """Take `action` on `record` (any kind with key, status and updated_at): refused unless
        the lifecycle allows it from the current state, otherwise the new status is set and the
        transition audited."""
        before = record.status
        after = self.check(action, before, key=record.key)
        record.status = str(after)
        record.updated_at = now
        audit.record(
            session,
            key=record.key,
            actor=actor,
            at=now,
            action=action,
            field="status",
            before=before,
            after=after,
            note=note,
        )
