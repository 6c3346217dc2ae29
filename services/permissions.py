"""Who may do what. The handler says who the person is and which roles they hold; the rules live here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from services.errors import Forbidden


class Role(StrEnum):
    AGENT = "agent"
    ADMIN = "admin"
    # On a team's on-call rota, escalation ladder or its lead: the people pages and
    # escalations reach, who must be able to take them on even if they are not agents.
    RESPONDER = "responder"
    # The security team (`roles.security`): sees and works restricted (security) incidents.
    SECURITY = "security"


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


SYSTEM = Actor("servicedesk", frozenset({Role.ADMIN, Role.SECURITY}))


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


# Expands a user or user-group reference into user ids (bot.directory.Directory.members).
# Services that check group membership take one of these, so the check reads the same
# directory, with the same freshness, as the code that decided whom to ask.
MembersOf = Callable[[str], frozenset[str]]


def in_any(user_id: str, refs: Iterable[str | None], members_of: MembersOf) -> bool:
    """Is the person one of these references (a user id, or a member of a user group)?"""
    return any(ref and (ref == user_id or user_id in members_of(ref)) for ref in refs)


def require_fulfiller(
    actor: Actor, *, team: str | None, refs: Iterable[str | None], members_of: MembersOf, key: str
) -> None:
    """Only the fulfilment team's people (its on-call and lead) or agents work a request."""
    if actor.is_agent or in_any(actor.user_id, refs, members_of):
        return
    raise Forbidden(f"Only team {team} or a service desk agent can work {key}.")


def require_requester_or_agent(actor: Actor, *, requester: str, doing: str) -> None:
    require_agent_or(actor, user_ids={requester}, doing=doing, who="the requester")


def require_cmdb_editor(actor: Actor) -> None:
    """Configuration items are changed by agents (and admins, through imports)."""
    require_agent(actor, doing="change configuration items")


def never_asked(session: Session, *, record_key: str) -> frozenset[str]:
    """Who must never be asked to approve this record: its requester (REQ-…, CHG-…)."""
    from models.change import Change
    from models.service_request import ServiceRequest

    prefix, _, number = record_key.partition("-")
    model: Any = {"REQ": ServiceRequest, "CHG": Change}.get(prefix)
    if model is None or not number.isdigit():
        return frozenset()
    record = session.get(model, int(number))
    return frozenset({record.requester}) if record is not None else frozenset()
