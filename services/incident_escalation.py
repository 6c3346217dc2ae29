"""Escalating an incident: overriding its priority, functional and hierarchical escalation,
and acknowledging a page or an escalation; whom to page when one is logged."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session

from models.incident import EscalationKind, Incident, IncidentStatus
from models.policy import Policy
from services import audit, paging, priority, security
from services.errors import AlreadyDone, InvalidInput, NotAllowed
from services.incidents import (
    KIND,
    LIFECYCLE,
    _refresh_sla,
    _set_assignee,
    acknowledge,
    authorise,
    get,
)
from services.permissions import Actor


def set_priority(
    session: Session,
    *,
    key: str,
    new_priority: int,
    reason: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> Incident:
    """An agent overrides the computed priority; the reason goes into the audit trail."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "reprioritise", actor)
    LIFECYCLE.check("reprioritise", incident.status, key=incident.key)
    if not 1 <= new_priority <= 5:
        raise InvalidInput("Priority runs from P1 to P5.")
    if not reason.strip():
        raise InvalidInput("Say why the priority changes; it goes into the audit trail.")
    if new_priority == incident.priority:
        raise InvalidInput(f"{incident.key} is already {priority.name(new_priority)}.")
    before = incident.priority
    incident.priority = new_priority
    incident.priority_overridden = True
    incident.updated_at = now
    audit.record(
        session,
        key=incident.key,
        actor=actor.user_id,
        at=now,
        action="priority changed",
        field="priority",
        before=f"P{before}",
        after=f"P{new_priority}",
        note=reason.strip(),
    )
    _refresh_sla(session, incident, now, policy)  # deadlines from the original start
    return incident


@dataclass(frozen=True)
class Escalation:
    """Who must hear about an escalation: users or user groups to message, and a channel."""

    incident: Incident
    kind: EscalationKind
    notify: tuple[str, ...]
    channel: str | None


def escalate(
    session: Session,
    *,
    key: str,
    kind: EscalationKind,
    to_team: str | None,
    note: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> Escalation:
    """Functional: hand the incident to another team, whose on-call is told.
    Hierarchical: raise it one level and tell the team lead and the escalation channel."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "escalate", actor)
    LIFECYCLE.check("escalate", incident.status, key=incident.key)
    if kind is EscalationKind.FUNCTIONAL:
        team = policy.team(to_team)
        if team is None:
            raise InvalidInput("Choose the team to hand the incident to.")
        if team.name == incident.team:
            raise InvalidInput(f"{incident.key} is already with {team.name}; choose another team.")
        if incident.assignee is not None:
            _set_assignee(session, incident, None, actor=actor, now=now)
        KIND.set_field(
            session,
            incident,
            "team",
            team.name,
            actor=actor,
            now=now,
            action="escalated",
            note=f"functional. {note}".strip(),
        )
        notify = tuple(ref for ref in [team.on_call or team.lead] if ref)
        return _told(Escalation(incident, kind, notify, None), policy)
    team = policy.team(incident.team)
    KIND.set_field(
        session,
        incident,
        "escalation_level",
        incident.escalation_level + 1,
        actor=actor,
        now=now,
        action="escalated",
        note=f"hierarchical. {note}".strip(),
    )
    notify = tuple(ref for ref in [team.lead if team else None] if ref)
    return _told(Escalation(incident, kind, notify, policy.channels.escalations), policy)


def _told(escalation: Escalation, policy: Policy) -> Escalation:
    """A restricted incident's escalation is told to the security team, in its channel."""
    if not escalation.incident.restricted:
        return escalation
    channel = policy.channels.security if escalation.channel else None
    return replace(escalation, notify=tuple(security.recipients(policy)), channel=channel)


def acknowledge_page(
    session: Session, *, key: str, actor: Actor, now: datetime, policy: Policy
) -> Incident:
    """Acknowledge from a page: a New incident is acknowledged (which stops the ladder); one
    already being worked on only has its page acknowledged, so the ladder stops climbing."""
    incident = get(session, key=key, for_update=True)
    if incident.state is IncidentStatus.NEW:
        return acknowledge(session, key=key, actor=actor, now=now, policy=policy)
    authorise(incident, "page", actor)
    paging.acknowledge(session, record_key=incident.key, by=actor.user_id, now=now)
    return incident


def acknowledge_escalation(session: Session, *, key: str, actor: Actor, now: datetime) -> Incident:
    """The person an escalation reached says they have it. Recorded once per person and
    escalation; a New incident is acknowledged as well (by the caller, via `acknowledge`)."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "take_escalation", actor)
    if not incident.is_open:
        raise NotAllowed(f"{incident.key} is {incident.state.label}; there is nothing to take on.")
    trail = audit.trail(session, key=incident.key)
    last_escalation = max((e.id or 0 for e in trail if e.action == "escalated"), default=0)
    if any(
        e.action == "escalation acknowledged"
        and e.actor == actor.user_id
        and (e.id or 0) > last_escalation
        for e in trail
    ):
        raise AlreadyDone(f"You already acknowledged the escalation of {incident.key}.")
    audit.record(
        session, key=incident.key, actor=actor.user_id, at=now, action="escalation acknowledged"
    )
    return incident


def page_targets(incident: Incident, policy: Policy) -> tuple[str, ...]:
    """Whom to page when the incident is logged: the service's (or its team's) on-call, for the
    priorities the policy pages on (P1 by default)."""
    if incident.priority not in policy.incidents.page_priorities:
        return ()
    if incident.restricted:
        return tuple(security.recipients(policy))
    service = policy.service(incident.service)
    team = policy.team(incident.team)
    ref = (service.on_call if service else None) or (team.on_call if team else None)
    return (ref,) if ref else ()
