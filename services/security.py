"""Security incidents: which incidents are restricted, who may see and work them, and moving an
incident into or out of the restricted state.

A restricted incident is seen, worked and told about only by the security team
(`roles.security`) and the people working it (its reporter, its assignee, a major incident's
commander). Everyone else is shown "Restricted incident INC-12" and nothing more: no title,
description, service or assignee. Its channel message lives in `channels.security`; its pages,
escalations and SLA notifications go to the security team.

A plain session-free `may_see` answers for the incident and the person; the commander is read
from the major incident only for restricted major incidents, so ordinary incidents cost nothing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import object_session
from sqlmodel import Session

from models.incident import Incident, IncidentInput
from models.policy import Policy
from services import audit
from services.errors import AlreadyDone, Forbidden, InvalidInput
from services.permissions import Actor, Role

# What everyone outside the circle reads instead of a restricted incident's title.
RESTRICTED = "Restricted incident"
REASON_MAX = 500
# The paging "team" of a restricted incident: its ladder is `roles.security`, in order.
SECURITY_LADDER = "(security)"


def is_security(actor: Actor) -> bool:
    """Is this person in the security team (`roles.security`)?"""
    return Role.SECURITY in actor.roles


def restricted_at_logging(data: IncidentInput, policy: Policy) -> bool:
    """Logged as a security incident: the form's checkbox, or a security category."""
    return data.security or (
        data.category is not None and data.category in policy.incidents.security_categories
    )


def check_loggable(restricted: bool, policy: Policy) -> None:
    """A restricted incident needs the security channel to be announced in."""
    if restricted and policy.channels.security is None:
        raise InvalidInput(
            "No security channel is configured (channels.security), so a security incident "
            "cannot be logged here; ask an admin."
        )


def _commander(incident: Incident) -> str | None:
    if not incident.is_major:
        return None
    session = object_session(incident)
    if session is None:
        return None
    from services import major_incidents  # it imports services.incidents, which imports this

    major = major_incidents.find(session, key=incident.key)  # type: ignore[arg-type]
    return major.commander if major is not None else None


def working(incident: Incident) -> set[str]:
    """The people working it: reporter, assignee and (major incidents) commander."""
    people = {incident.reporter, incident.assignee, _commander(incident)}
    return {person for person in people if person}


def may_see(incident: Any, actor: Actor) -> bool:
    """May this person see the incident's details (and act on it)?"""
    if not getattr(incident, "restricted", False):
        return True
    return is_security(actor) or actor.user_id in working(incident)


def refusal(key: str) -> str:
    return (
        f"{key} is a restricted incident: only the security team and the people working it "
        "can see or work it."
    )


def require_visible(incident: Incident, actor: Actor) -> None:
    """Forbidden, saying only that it is restricted, unless the person may see it."""
    if not may_see(incident, actor):
        raise Forbidden(refusal(incident.key))


def visible(incidents: Iterable[Incident], actor: Actor) -> list[tuple[Incident, bool]]:
    """Each incident with whether this person may see its details."""
    return [(incident, may_see(incident, actor)) for incident in incidents]


def recipients(policy: Policy) -> list[str]:
    """Who hears about a restricted incident instead of its team: the security team."""
    return list(policy.roles.security)


def paging_team(incident: Any) -> str | None:
    """The ladder a page climbs: the incident's team's, or the security team's."""
    return SECURITY_LADDER if getattr(incident, "restricted", False) else incident.team


def channel_for(incident: Any, policy: Policy) -> str:
    """Where the incident's one channel message lives."""
    if getattr(incident, "restricted", False) and policy.channels.security:
        return policy.channels.security
    return policy.channels.incidents


@dataclass(frozen=True)
class Moved:
    """An incident moved into or out of the restricted state, and where its old message is
    (the caller redacts or reveals it, then the incident is announced where it now belongs)."""

    incident: Incident
    restricted: bool
    old_channel: str | None
    old_ts: str | None
    revealed: tuple[str, str] | None  # unrestricting: the shared-channel message to reveal


def set_restricted(
    session: Session,
    *,
    key: str,
    restricted: bool,
    reason: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> Moved:
    """Move an incident into (or out of) the restricted state: the security team only, with a
    reason, audited. Its message moves too: restricting leaves the shared channel's message
    behind (the caller redacts it, and it is remembered so unrestricting can reveal it again);
    the incident is then announced afresh in the channel it now belongs to."""
    from services import incidents

    if not is_security(actor):
        raise Forbidden("Only the security team can restrict an incident or lift a restriction.")
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("Say why (it goes into the audit trail).")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"Keep the reason under {REASON_MAX} characters (it has {len(reason)}).")
    if restricted:
        check_loggable(True, policy)
    incident = incidents.get(session, key=key, for_update=True)
    if incident.restricted == restricted:
        state = "already restricted" if restricted else "not restricted"
        raise AlreadyDone(f"{incident.key} is {state}.")
    old = (incident.channel_id, incident.message_ts)
    revealed: tuple[str, str] | None = None
    if restricted:
        incident.redacted_channel_id, incident.redacted_ts = old
    elif incident.redacted_channel_id and incident.redacted_ts:
        revealed = (incident.redacted_channel_id, incident.redacted_ts)
    incident.restricted = restricted
    incident.updated_at = now
    # The message is posted again where it now belongs (or, unrestricting, the redacted one
    # in the shared channel becomes its message again and is revealed by the next refresh).
    incident.channel_id, incident.message_ts = revealed or (None, None)
    incident.claimed_at = incident.claimed_by = None
    if not restricted:
        incident.redacted_channel_id = incident.redacted_ts = None
    if incident.is_major:
        # A missed status update is told to whoever may now see the incident.
        from services import major_incidents

        major = major_incidents.find(session, key=incident.key)
        if major is not None:
            major_incidents.plan_reminders(
                session, major=major, incident=incident, now=now, policy=policy
            )
    audit.record(
        session,
        key=incident.key,
        actor=actor.user_id,
        at=now,
        action="restricted" if restricted else "unrestricted",
        field="restricted",
        before=not restricted,
        after=restricted,
        note=reason,
    )
    return Moved(incident, restricted, old[0], old[1], revealed)


def restricted_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of these incident keys are restricted (one query), for records that show links."""
    from sqlmodel import col, select

    numbers = [int(k[4:]) for k in keys if k.startswith("INC-") and k[4:].isdigit()]
    if not numbers:
        return set()
    rows = session.exec(
        select(Incident.id).where(col(Incident.id).in_(numbers), col(Incident.restricted))
    )
    return {f"INC-{row}" for row in rows}
