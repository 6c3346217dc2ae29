"""A small table-driven lifecycle: which action moves a record from which states to which, and
who may make each move. The service enforces the table (`move`, `check_step`); the renderer
reads it (`actions_from`) to decide which buttons a record's message shows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from services import audit
from services.errors import Forbidden, NotAllowed
from services.permissions import Actor, require_agent

# Who may make a move: raises Forbidden (read "Refused, because …") for anyone else. It is
# given the person and the record, so a rule can name the record's own people (its requester,
# its assignee) besides the roles.
Rule = Callable[[Actor, Any], None]


def agents(doing: str) -> Rule:
    """Only service desk agents (and admins) may: "Only service desk agents can {doing}."."""

    def rule(actor: Actor, _record: Any) -> None:
        require_agent(actor, doing=doing)

    return rule


def admins_cancel(actor: Actor, record: Any) -> None:
    """Only an admin may cancel the record (a planned audit or review)."""
    if not actor.is_admin:
        raise Forbidden(f"Only an admin can cancel {record.key}.")


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
        who: Mapping[str, Rule] | None = None,
        anyone_else: Rule | None = None,
    ) -> None:
        self.record_kind = record_kind
        # action → who may take it; actions not named fall back to `anyone_else` (if given).
        self.who = dict(who or {})
        self.anyone_else = anyone_else
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

    def permit(self, action: str, record: Any, actor: Actor) -> None:
        """Forbidden unless `actor` may take `action` on `record` (the lifecycle's who-table)."""
        rule = self.who.get(action, self.anyone_else)
        if rule is not None:
            rule(actor, record)

    def check_step(self, record: Any, action: str, actor: Actor) -> None:
        """Before a form for `action` opens, and again when the move is made: this person may
        take it, and the record's state allows it now. Actions outside the table (a form that
        only edits) are checked for the person alone."""
        self.permit(action, record, actor)
        if action in self.moves:
            self.check(action, record.status, key=record.key)

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
        actor: str | Actor,
        now: datetime,
        note: str | None = None,
    ) -> None:
        """Take `action` on `record` (any kind with key, status and updated_at): refused unless
        the lifecycle allows it from the current state, otherwise the new status is set and the
        transition audited. Given an Actor (not just a user id), who may make the move is
        checked too."""
        if isinstance(actor, Actor):
            self.permit(action, record, actor)
            actor = actor.user_id
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
