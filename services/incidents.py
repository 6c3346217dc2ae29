"""The incident lifecycle: log, prioritise, acknowledge, assign, hold, resolve, close. Priority
overrides, escalations and paging are in services.incident_escalation."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.incident import (
    KEY_PREFIX,
    OPEN_STATUSES,
    HoldReason,
    Incident,
    IncidentInput,
    IncidentStatus,
    SlaPause,
)
from models.policy import Policy
from services import audit, inserts, paging, priority, security, service_list, sla_timers
from services.errors import InvalidInput
from services.lifecycle import Lifecycle, Rule
from services.permissions import Actor, require_agent, require_agent_or
from services.records import RecordKind

S = IncidentStatus


@dataclass(frozen=True)
class _Rule:
    doing: str
    also: str | None  # "assignee" or "reporter": who besides agents may
    responders: bool = False  # on-call staff and team leads too


RULES = {
    "acknowledge": _Rule("acknowledge an incident", "assignee", responders=True),
    "assign": _Rule("assign incidents", None),
    "hold": _Rule("put an incident on hold", "assignee"),
    "resume": _Rule("resume an incident", "assignee"),
    "resolve": _Rule("resolve an incident", "assignee"),
    "reopen": _Rule("reopen an incident", "reporter"),
    "close": _Rule("close an incident", "reporter"),
    "cancel": _Rule("cancel an incident", "reporter"),
    "reprioritise": _Rule("change an incident's priority", None),
    "escalate": _Rule("escalate an incident", "assignee"),
    "page": _Rule("acknowledge a page", "assignee", responders=True),
    "take_escalation": _Rule("take on an escalation", "assignee", responders=True),
}


def _authorise(actor: Actor, incident: Incident, action: str) -> None:
    # A restricted incident first: outside the security team and the people working it,
    # nothing about it is said, not even which state it is in.
    security.require_visible(incident, actor)
    if incident.restricted and security.is_security(actor):
        return  # the security team works its incidents as agents work the others
    rule = RULES[action]
    if rule.also is None and not rule.responders:
        require_agent(actor, doing=rule.doing)
        return
    named = {incident.assignee} if rule.also == "assignee" else {incident.reporter}
    require_agent_or(
        actor, user_ids=named, doing=rule.doing, who=f"the {rule.also}", responders=rule.responders
    )


def _who(action: str) -> Rule:
    return lambda actor, incident: _authorise(actor, incident, action)


LIFECYCLE = Lifecycle(
    "incident",
    {
        "acknowledge": ([S.NEW], S.IN_PROGRESS),
        "hold": ([S.IN_PROGRESS], S.ON_HOLD),
        "resume": ([S.ON_HOLD], S.IN_PROGRESS),
        "resolve": ([S.IN_PROGRESS, S.ON_HOLD], S.RESOLVED),
        "reopen": ([S.RESOLVED], S.IN_PROGRESS),
        "close": ([S.RESOLVED], S.CLOSED),
        "cancel": ([S.NEW, S.IN_PROGRESS, S.ON_HOLD], S.CANCELLED),
        "assign": ([S.NEW, S.IN_PROGRESS, S.ON_HOLD], None),
        "escalate": ([S.NEW, S.IN_PROGRESS, S.ON_HOLD], None),
        "reprioritise": ([S.NEW, S.IN_PROGRESS, S.ON_HOLD], None),
    },
    final=[S.CLOSED, S.CANCELLED],
    label=lambda state: IncidentStatus(state).label,
    action_label={
        "acknowledge": "acknowledged",
        "hold": "put on hold",
        "resume": "resumed",
        "resolve": "resolved",
        "reopen": "reopened",
        "close": "closed",
        "cancel": "cancelled",
        "assign": "assigned",
        "escalate": "escalated",
        "reprioritise": "re-prioritised",
    },
    # Who besides agents may take each step (and acknowledge a page or an escalation).
    who={action: _who(action) for action in RULES},
)


def authorise(incident: Incident, action: str, actor: Actor) -> None:
    """Forbidden unless `actor` may do `action` to this incident (agents always may)."""
    LIFECYCLE.permit(action, incident, actor)


def check_step(incident: Incident, action: str, actor: Actor) -> None:
    """Before a form for `action` is opened: may this person do it, and does the lifecycle
    allow it now? Raises Forbidden or NotAllowed with the reason."""
    KIND.check_step(incident, action, actor)


KIND = RecordKind(Incident, KEY_PREFIX, "incident", "INC-12", LIFECYCLE)
# Reading by key and the announce sweep's list come from the kind.
parse_key, unannounced, get = KIND.parse_key, KIND.unannounced, KIND.get


def team_for_service(policy: Policy, service: str | None) -> str | None:
    found = policy.service(service)
    return found.team if found else None


def create(
    session: Session,
    *,
    data: IncidentInput,
    reporter: str,
    now: datetime,
    policy: Policy,
    submission_id: str | None = None,
) -> tuple[Incident, bool]:
    """Log an incident. A second call with the same `submission_id` returns the first incident
    and False instead of creating another."""
    # The policy's services, or one a service change added (read only for other names).
    service = policy.service(data.service) or service_list.added(
        session, policy=policy, name=data.service
    )
    if data.service is not None and service is None:
        raise InvalidInput(f"'{data.service}' is not a known service.")
    if data.category is not None and data.category not in policy.incidents.categories:
        raise InvalidInput(f"'{data.category}' is not a known category.")
    restricted = security.restricted_at_logging(data, policy)
    security.check_loggable(restricted, policy)
    draft = Incident(
        title=data.title,
        description=data.description,
        impact=data.impact.value,
        urgency=data.urgency.value,
        priority=priority.compute(impact=data.impact, urgency=data.urgency),
        status=S.NEW.value,
        service=service.name if service else None,
        category=data.category,
        team=service.team if service else None,
        reporter=reporter,
        created_at=now,
        updated_at=now,
        submission_id=submission_id,
        restricted=restricted,
    )
    draft.agreement = sla_timers.incident_agreement(draft, policy)
    # One INSERT … ON CONFLICT (submission_id) DO NOTHING RETURNING: a form Slack delivered
    # twice, or raced by another process, returns nothing instead of raising, so there is
    # neither a lookup before nor a savepoint around it. Everything else (the audit row and
    # both SLA timers, computed in Python) goes in with the commit: a handful of statements
    # before the ack, whatever the policy.
    incident, created = inserts.insert_submitted(session, draft)
    if not created:
        return incident, False
    audit.record(
        session,
        key=incident.key,
        actor=reporter,
        at=now,
        action="created",
        after=S.NEW,
        note=f"{priority.name(incident.priority)} (impact {data.impact}, urgency {data.urgency})"
        + ("; restricted (security incident)" if restricted else ""),
    )
    sla_timers.start_timers(
        session,
        record_key=incident.key,
        targets=sla_timers.incident_targets(incident, policy),
        start=incident.created_at,
        now=now,
        policy=policy,
    )
    return incident, True


def _refresh_sla(session: Session, incident: Incident, now: datetime, policy: Policy) -> None:
    """Recompute the incident's SLA timers after anything the SLA clock depends on."""
    sla_timers.refresh_incident(session, incident=incident, now=now, policy=policy)


def _move(
    session: Session,
    incident: Incident,
    action: str,
    *,
    actor: Actor,
    now: datetime,
    note: str | None = None,
) -> None:
    LIFECYCLE.move(session, incident, action, actor=actor.user_id, now=now, note=note)


def acknowledge(
    session: Session, *, key: str, actor: Actor, now: datetime, policy: Policy
) -> Incident:
    """New → In progress. Meets the response target; the acknowledger becomes the assignee
    when nobody was assigned."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "acknowledge", actor)
    _move(session, incident, "acknowledge", actor=actor, now=now)
    incident.acknowledged_at = now
    if incident.assignee is None:
        _set_assignee(session, incident, actor.user_id, actor=actor, now=now)
    # The response target is met and the paging ladder stops.
    _refresh_sla(session, incident, now, policy)
    paging.acknowledge_if_paged(session, record_key=incident.key, by=actor.user_id, now=now)
    if incident.is_major:
        _major().on_acknowledged(session, incident=incident, now=now, policy=policy)
    return incident


def _major() -> Any:
    """services.major_incidents, read lazily (it imports this module). Only major incidents
    reach it, so the ordinary path runs no extra statement."""
    return importlib.import_module("services.major_incidents")


def _set_assignee(
    session: Session, incident: Incident, assignee: str | None, *, actor: Actor, now: datetime
) -> None:
    KIND.set_field(session, incident, "assignee", assignee, actor=actor, now=now, action="assigned")


def assign(
    session: Session, *, key: str, assignee: str, actor: Actor, now: datetime
) -> tuple[Incident, bool]:
    """Give the incident to `assignee`. Returns False when they already had it (nothing recorded)."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "assign", actor)
    LIFECYCLE.check("assign", incident.status, key=incident.key)
    if incident.assignee == assignee:
        return incident, False
    _set_assignee(session, incident, assignee, actor=actor, now=now)
    return incident, True


def hold(
    session: Session,
    *,
    key: str,
    reason: HoldReason,
    note: str | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> Incident:
    """In progress → On hold; the SLA clock pauses until it is resumed."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "hold", actor)
    _move(
        session,
        incident,
        "hold",
        actor=actor,
        now=now,
        note=f"{reason.label}. {note or ''}".strip(),
    )
    incident.hold_reason = reason.value
    session.add(SlaPause(record_key=incident.key, started_at=now, reason=reason.value))
    _refresh_sla(session, incident, now, policy)
    return incident


def _stop_clock(
    session: Session, incident: Incident, *, actor: Actor, now: datetime, policy: Policy
) -> None:
    """The incident is settled (resolved or cancelled): no pause stays open, its SLA timers
    stop, and nobody further is paged."""
    _end_pause(session, incident.key, now)
    _refresh_sla(session, incident, now, policy)
    paging.acknowledge_if_paged(session, record_key=incident.key, by=actor.user_id, now=now)


def _end_pause(session: Session, key: str, now: datetime) -> None:
    session.execute(
        update(SlaPause)
        .where(col(SlaPause.record_key) == key, col(SlaPause.ended_at).is_(None))
        .values(ended_at=now)
    )


def resume(session: Session, *, key: str, actor: Actor, now: datetime, policy: Policy) -> Incident:
    """On hold → In progress; the SLA clock runs again."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "resume", actor)
    _move(session, incident, "resume", actor=actor, now=now)
    incident.hold_reason = None
    _end_pause(session, incident.key, now)
    _refresh_sla(session, incident, now, policy)
    return incident


def resolve(
    session: Session,
    *,
    key: str,
    code: str,
    note: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> Incident:
    """→ Resolved, with a resolution code from the policy and a note (both required)."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "resolve", actor)
    if code not in policy.incidents.resolution_codes:
        raise InvalidInput(f"'{code}' is not a resolution code.")
    if not note.strip():
        raise InvalidInput("Say in a sentence how it was resolved.")
    _move(session, incident, "resolve", actor=actor, now=now, note=f"{code}: {note.strip()}")
    if incident.acknowledged_at is None:
        incident.acknowledged_at = now
    incident.resolution_code = code
    incident.resolution_note = note.strip()
    incident.resolved_at = now
    incident.hold_reason = None
    _stop_clock(session, incident, actor=actor, now=now, policy=policy)
    if incident.is_major:
        # The major incident stops asking for updates and its review (PIR-n) opens.
        major = _major().on_settled(session, incident=incident, now=now)
        if major is not None:
            importlib.import_module("services.reviews").open_for(
                session, incident=incident, major=major, now=now, policy=policy
            )
    return incident


def reopen(
    session: Session,
    *,
    key: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
    note: str | None = None,
) -> Incident:
    """Resolved → In progress, when the fix did not hold. The resolution target runs again."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "reopen", actor)
    _move(session, incident, "reopen", actor=actor, now=now, note=note)
    incident.resolved_at = None
    incident.resolution_code = None
    incident.resolution_note = None
    _refresh_sla(session, incident, now, policy)
    if incident.is_major:
        _major().on_reopened(session, incident=incident, now=now, policy=policy)
    return incident


def close(
    session: Session, *, key: str, actor: Actor, now: datetime, note: str | None = None
) -> Incident:
    """Resolved → Closed (also done automatically some days after resolution)."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "close", actor)
    _move(session, incident, "close", actor=actor, now=now, note=note)
    incident.closed_at = now
    return incident


def cancel(
    session: Session, *, key: str, actor: Actor, now: datetime, note: str, policy: Policy
) -> Incident:
    """An open incident logged by mistake → Cancelled, with a reason."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "cancel", actor)
    if not note.strip():
        raise InvalidInput("Say why the incident is cancelled.")
    _move(session, incident, "cancel", actor=actor, now=now, note=note.strip())
    incident.closed_at = now
    _stop_clock(session, incident, actor=actor, now=now, policy=policy)
    if incident.is_major:
        _major().on_settled(session, incident=incident, now=now)
    return incident


def list_open(
    session: Session,
    *,
    assignee: str | None = None,
    priority_is: int | None = None,
    service: str | None = None,
    reporter: str | None = None,
    limit: int = 25,
) -> list[Incident]:
    """Open incidents, newest first, optionally only one person's (assigned or reported), one
    priority or one service."""
    statement = select(Incident).where(col(Incident.status).in_([s.value for s in OPEN_STATUSES]))
    if reporter is not None:
        statement = statement.where(Incident.reporter == reporter)
    if assignee is not None:
        statement = statement.where(Incident.assignee == assignee)
    if priority_is is not None:
        statement = statement.where(Incident.priority == priority_is)
    if service is not None:
        statement = statement.where(Incident.service == service)
    statement = statement.order_by(col(Incident.created_at).desc(), col(Incident.id).desc()).limit(
        limit
    )
    return list(session.exec(statement))


def due_for_auto_close(
    session: Session, *, now: datetime, policy: Policy, limit: int = 200
) -> list[str]:
    """Keys of resolved incidents whose auto-close time has come."""
    cutoff = now - policy.incidents.auto_close_after
    statement = (
        select(Incident.id)
        .where(Incident.status == S.RESOLVED.value, col(Incident.resolved_at) <= cutoff)
        .order_by(col(Incident.resolved_at), col(Incident.id))
        .limit(limit)
    )
    return [f"{KEY_PREFIX}-{row}" for row in session.exec(statement)]


# Its one channel message: claimed by one poster, released if posting failed, then remembered.
claim_announcement = KIND.claim_announcement
release_announcement = KIND.release_announcement
record_message = KIND.record_message
