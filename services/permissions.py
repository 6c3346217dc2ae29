"""Who may do what. The handler says who the person is and which roles they hold; the rules live here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from services.errors import Forbidden


class Role(StrEnum):
    AGENT = "agent"
    ADMIN = "admin"
    # On a team's on-call rota, escalation ladder or its lead: the people pages and
    # escalations reach, who must be able to take them on even if they are not agents.
    RESPONDER = "responder"


@dataclass(frozen=True)
class Actor:
    user_id: str
    roles: frozenset[Role] = field(default_factory=frozenset)

    @property
    def is_agent(self) -> bool:
        return Role.AGENT in self.roles or Role.ADMIN in self.roles

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_responder(self) -> bool:
        return self.is_agent or Role.RESPONDER in self.roles


SYSTEM = Actor("servicedesk", frozenset({Role.ADMIN}))


def require_agent(actor: Actor, *, doing: str) -> None:
    if not actor.is_agent:
        raise Forbidden(
            f"Only service desk agents can {doing}. Ask an agent, or an admin to add you."
        )


def require_agent_or(
    actor: Actor, *, user_ids: set[str | None], doing: str, who: str, responders: bool = False
) -> None:
    """Agents, the named people, and (with `responders`) on-call staff and team leads."""
    if actor.is_agent or actor.user_id in user_ids:
        return
    if responders and actor.is_responder:
        return
    extra = ", on-call staff" if responders else ""
    raise Forbidden(f"Only {who}{extra} or a service desk agent can {doing}.")
