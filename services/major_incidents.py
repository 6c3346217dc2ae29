"""Major incidents: declaring one (at a configured priority, or by an agent with a reason), its
dedicated channel's name, its roles, its status updates and their cadence, and its timeline.

Reminders are outbox rows (services.reminders), replanned whenever the incident's update cadence
changes: the commander is reminded when an update is due and again one interval later, and a
missed update goes to the team lead `major_incidents.missed_after` past the due time. Nothing
sweeps for them; the notifier sends each row once when it falls due."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from models.incident import Incident
from models.major_incident import (
    REASON_MAX,
    UPDATE_FIELD_MAX,
    MajorIncident,
    Role,
    TimelineEntry,
    TimelineKind,
)
from models.policy import Policy
from services import agreements, audit, cmdb, incidents, links, reminders, security
from services.errors import InvalidInput, NotAllowed, NotFound
from services.mrkdwn import channel_mention, mention, user_text
from services.permissions import SYSTEM, Actor, require_agent, require_agent_or

CHANNEL_NAME_MAX = 80
# The audit row of a status update (the timeline shows the update itself instead).
STATUS_UPDATE = "status_update"


def is_major_priority(policy: Policy, priority: int) -> bool:
    return priority in policy.major_incidents.priorities


def channel_name(key: str, title: str, *, prefix: str = "inc", attempt: int = 1) -> str:
    """`inc-42-payments-timeouts`: Slack's rules (lower case letters, digits, hyphens and
    underscores; at most 80 characters), the title folded to ASCII; a later `attempt` (after a
    name clash) ends in `-2`, `-3`, … and still fits."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    head = f"{prefix}-{key.partition('-')[2]}"
    tail = f"-{attempt}" if attempt > 1 else ""
    room = CHANNEL_NAME_MAX - len(head) - len(tail) - 1
    slug = slug[: max(room, 0)].rstrip("-")
    return f"{head}-{slug}{tail}" if slug else f"{head}{tail}"


def get(session: Session, *, key: str, for_update: bool = False) -> MajorIncident:
    """The major-incident record of incident `key`; NotFound when it was never declared."""
    statement = select(MajorIncident).where(MajorIncident.incident_key == key.strip().upper())
    if for_update:
        statement = statement.with_for_update()
    found = session.exec(statement).first()
    if found is None:
        raise NotFound(f"{key.strip().upper()[:40]} is not a major incident.")
    return found


def find(session: Session, *, key: str) -> MajorIncident | None:
    statement = select(MajorIncident).where(MajorIncident.incident_key == key)
    return session.exec(statement).first()


def for_channel(session: Session, *, channel_id: str) -> MajorIncident | None:
    """The major incident coordinated in this channel, if any."""
    statement = select(MajorIncident).where(MajorIncident.channel_id == channel_id)
    return session.exec(statement).first()


def declare(
    session: Session,
    *,
    key: str,
    reason: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> tuple[MajorIncident, bool]:
    """Make incident `key` major. By a person: agents only, with a reason; at a major priority
    the bot itself declares it (SYSTEM). Returns the record and whether this call declared it
    (a second click, or two at once, declares once)."""
    automatic = actor is SYSTEM
    if not automatic:
        require_agent(actor, doing="declare a major incident")
    reason = reason.strip()
    if not automatic and not reason:
        raise InvalidInput("Say why this is a major incident.")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"Keep the reason under {REASON_MAX} characters (it has {len(reason)}).")
    incident = incidents.get(session, key=key, for_update=True)
    security.require_visible(incident, actor)
    if not incident.is_open:
        raise NotAllowed(
            f"{incident.key} is {incident.state.label}, so it cannot be declared a major "
            "incident now; that is only possible while it is open."
        )
    values = {
        "incident_key": incident.key,
        "declared_at": now,
        "declared_by": actor.user_id,
        "reason": reason,
        "commander": incident.assignee if incident.acknowledged_at else None,
        "next_update_due": now + policy.major_incidents.every(incident.priority),
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    added = session.execute(
        insert(MajorIncident)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["incident_key"])
        .returning(MajorIncident.id)  # type: ignore[arg-type]
    ).scalar_one_or_none()
    major = get(session, key=incident.key)
    if added is None:
        return major, False
    incidents.KIND.set_field(
        session,
        incident,
        "is_major",
        True,
        actor=actor,
        now=now,
        action="declared_major",
        note=reason or f"logged at P{incident.priority}",
    )
    plan_reminders(session, major=major, incident=incident, now=now, policy=policy)
    return major, True


# A process that claimed the channel's creation and neither created it nor said why within
# this long died doing it: the announce sweep takes the claim over.
CHANNEL_LEASE = timedelta(minutes=2)


def claim_channel(session: Session, *, key: str, now: datetime) -> bool:
    """One caller creates the incident's channel: True for it, False for everyone else (the
    channel exists or was refused, or another process is creating it right now)."""
    major = get(session, key=key, for_update=True)
    if major.channel_id is not None or major.channel_error is not None:
        return False
    claimed = major.channel_claimed_at
    if claimed is not None and claimed > now - CHANNEL_LEASE:
        return False
    major.channel_claimed_at = now
    session.add(major)
    return True


def unopened(session: Session, *, now: datetime, limit: int = 20) -> list[str]:
    """Keys of major incidents still running whose channel was never created nor refused and
    nobody is creating now (its creator crashed): one read of a partial index."""
    statement = (
        select(MajorIncident.incident_key)
        .where(
            col(MajorIncident.channel_id).is_(None),
            col(MajorIncident.channel_error).is_(None),
            col(MajorIncident.ended_at).is_(None),
            or_(
                col(MajorIncident.channel_claimed_at).is_(None),
                col(MajorIncident.channel_claimed_at) <= now - CHANNEL_LEASE,
            ),
        )
        .order_by(col(MajorIncident.declared_at), col(MajorIncident.id))
        .limit(limit)
    )
    return list(session.exec(statement))


def record_channel(
    session: Session, *, key: str, channel_id: str | None, name: str | None, error: str | None
) -> MajorIncident:
    """Where the channel is, or why Slack would not create it (the incident then carries on in
    the shared channel)."""
    major = get(session, key=key, for_update=True)
    major.channel_id, major.channel_name, major.channel_error = channel_id, name, error
    session.add(major)
    return major


def record_name(session: Session, *, key: str, name: str | None, redacted: bool) -> MajorIncident:
    """The channel's name after a rename, and whether it is the neutral one a restricted
    incident's channel carries (its summary redacted, its posts going to the incident's thread
    in the security team's channel instead)."""
    major = get(session, key=key, for_update=True)
    if name:
        major.channel_name = name
    major.channel_redacted = redacted
    session.add(major)
    return major


def record_summary(session: Session, *, key: str, ts: str) -> None:
    major = get(session, key=key, for_update=True)
    major.summary_ts = ts
    session.add(major)


def _require_visible(session: Session, major: MajorIncident, actor: Actor) -> None:
    """A restricted incident's major-incident work is for the people who may see it."""
    security.require_visible(incidents.get(session, key=major.incident_key), actor)


def _may_lead(actor: Actor, major: MajorIncident, doing: str) -> None:
    """Agents, and the incident's commander and communications lead."""
    require_agent_or(
        actor,
        user_ids={major.commander, major.comms_lead},
        doing=doing,
        who="the incident commander, the communications lead",
    )


def set_role(
    session: Session,
    *,
    key: str,
    role: Role,
    user: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> tuple[MajorIncident, bool]:
    """Give `role` to `user`: agents or the current commander may. Audited; False when they
    already had it."""
    if not user or not re.fullmatch(r"[UW][A-Z0-9]{2,31}", user):
        raise InvalidInput("Choose a person.")
    major = get(session, key=key, for_update=True)
    _require_visible(session, major, actor)
    require_agent_or(
        actor,
        user_ids={major.commander},
        doing="assign major-incident roles",
        who="the incident commander",
    )
    if major.ended_at is not None:
        raise NotAllowed(f"{major.incident_key} is over; its roles are kept as they were.")
    field = "commander" if role is Role.COMMANDER else "comms_lead"
    before = getattr(major, field)
    if before == user:
        return major, False
    setattr(major, field, user)
    session.add(major)
    audit.record(
        session,
        key=major.incident_key,
        actor=actor.user_id,
        at=now,
        action="role",
        field=field,
        before=before,
        after=user,
    )
    if role is Role.COMMANDER:
        incident = incidents.get(session, key=major.incident_key)
        plan_reminders(session, major=major, incident=incident, now=now, policy=policy)
    return major, True


def on_acknowledged(session: Session, *, incident: Incident, now: datetime, policy: Policy) -> None:
    """The commander defaults to whoever acknowledged (called for major incidents only)."""
    major = find(session, key=incident.key)
    if major is None or major.commander is not None or incident.assignee is None:
        return
    major.commander = incident.assignee
    session.add(major)
    audit.record(
        session,
        key=incident.key,
        actor=incident.assignee,
        at=now,
        action="role",
        field="commander",
        after=incident.assignee,
        note="acknowledged it",
    )
    plan_reminders(session, major=major, incident=incident, now=now, policy=policy)


def on_settled(session: Session, *, incident: Incident, now: datetime) -> MajorIncident | None:
    """Resolved or cancelled: no more updates are asked for."""
    major = find(session, key=incident.key)
    if major is None:
        return None
    major.ended_at = now
    major.next_update_due = None
    session.add(major)
    reminders.sync(session, record_key=incident.key, plan=[], text=lambda _p: "", now=now)
    return major


def on_reopened(session: Session, *, incident: Incident, now: datetime, policy: Policy) -> None:
    major = find(session, key=incident.key)
    if major is None:
        return
    major.ended_at = None
    major.next_update_due = now + policy.major_incidents.every(incident.priority)
    session.add(major)
    plan_reminders(session, major=major, incident=incident, now=now, policy=policy)


@dataclass(frozen=True)
class StatusUpdate:
    major: MajorIncident
    incident: Incident
    entry: TimelineEntry
    # Where it goes besides the incident's channels: the stakeholders channel and the contacts
    # of the customers whose agreements cover an affected service.
    recipients: list[str]


def _clean(value: str | None, label: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"Say what the {label} is.")
    if len(value) > UPDATE_FIELD_MAX:
        raise InvalidInput(
            f"Keep the {label} under {UPDATE_FIELD_MAX} characters (it has {len(value)})."
        )
    return value


def check_may_update(session: Session, *, key: str, actor: Actor) -> None:
    """Before the Post update form opens: the same check post_update makes."""
    major = get(session, key=key)
    _require_visible(session, major, actor)
    _may_lead(actor, major, "post a status update")
    if major.ended_at is not None:
        raise NotAllowed(f"{major.incident_key} is settled; no more status updates are due.")


def post_update(
    session: Session,
    *,
    key: str,
    status: str,
    impact: str,
    next_steps: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> StatusUpdate:
    """Record a status update (status, impact, next steps) on the timeline; the next one is
    due `major_incidents.update_every` from now, and the reminders move with it."""
    status = _clean(status, "status", required=True)
    impact = _clean(impact, "impact", required=True)
    next_steps = _clean(next_steps, "next step", required=False)
    major = get(session, key=key, for_update=True)
    _require_visible(session, major, actor)
    _may_lead(actor, major, "post a status update")
    if major.ended_at is not None:
        raise NotAllowed(f"{major.incident_key} is settled; no more status updates are due.")
    incident = incidents.get(session, key=major.incident_key)
    entry = TimelineEntry(
        record_key=incident.key,
        at=now,
        actor=actor.user_id,
        kind=TimelineKind.UPDATE.value,
        text=status,
        impact=impact,
        next_steps=next_steps or None,
    )
    session.add(entry)
    audit.record(
        session,
        key=incident.key,
        actor=actor.user_id,
        at=now,
        action=STATUS_UPDATE,
        note=status[:200],
    )
    major.last_update_at = now
    major.next_update_due = now + policy.major_incidents.every(incident.priority)
    session.add(major)
    plan_reminders(session, major=major, incident=incident, now=now, policy=policy)
    return StatusUpdate(major, incident, entry, update_recipients(session, incident, policy))


def update_recipients(session: Session, incident: Incident, policy: Policy) -> list[str]:
    """The stakeholders channel, then each contact of a customer whose agreement covers a
    service the incident affects (its own, and those its linked items are used by). None for
    a restricted incident: its updates stay in its own (private) channel."""
    if incident.restricted:
        return []
    services = [incident.service] if incident.service else []
    for item in links.linked(session, key=incident.key, kind=cmdb.ITEM_LINK):
        services += [s.name for s in cmdb.affected_services(session, key=item)]
    out: list[str] = []
    if policy.channels.stakeholders:
        out.append(policy.channels.stakeholders)
    wanted = {name.lower() for name in services}
    for service in services:
        for agreement in agreements.agreements_covering(policy, service):
            wanted.add(f"agreement:{agreement.name.lower()}")
            for contact in policy.major_incidents.customer_contacts.get(agreement.customer, []):
                if contact not in out:
                    out.append(contact)
    # The [[customers]] using an affected service, or holding an agreement that covers one.
    for customer in getattr(policy, "customers", []):
        uses = {name.lower() for name in customer.services}
        holds = {f"agreement:{name.lower()}" for name in customer.agreements}
        if customer.contact and (uses | holds) & wanted and customer.contact not in out:
            out.append(customer.contact)
    return out


def plan_reminders(
    session: Session, *, major: MajorIncident, incident: Incident, now: datetime, policy: Policy
) -> None:
    """The outbox rows for the next status update: the commander at the due time and one
    interval later, the team lead once the update is `missed_after` late."""
    due = major.next_update_due
    plan: list[reminders.Planned] = []
    if due is not None and major.ended_at is None:
        every = policy.major_incidents.every(incident.priority)
        if major.commander:
            plan.append(reminders.Planned("update", due, major.commander))
            plan.append(reminders.Planned("update-again", due + every, major.commander))
        team = policy.team(incident.team)
        # A restricted incident's missed update goes to the security team, not its team's lead.
        leads = (
            security.recipients(policy)
            if incident.restricted
            else ([team.lead] if team is not None and team.lead else [])
        )
        for lead in leads:
            plan.append(
                reminders.Planned("missed-update", due + policy.major_incidents.missed_after, lead)
            )
    where = f" in {channel_mention(major.channel_id)}" if major.channel_id else ""

    def text(planned: reminders.Planned) -> str:
        if planned.stage == "missed-update":
            return (
                f":warning: {incident.key} ({user_text(incident.title)}): the status update due "
                f"at {_hhmm(due)} UTC was not posted. Commander: {mention(major.commander, nobody='nobody')}."
            )
        return (
            f":loudspeaker: {incident.key} ({user_text(incident.title)}) needs a status update"
            f"{where}: click *Post update* on its summary."
        )

    reminders.sync(session, record_key=incident.key, plan=plan, text=text, now=now)


def _hhmm(when: Any) -> str:
    return when.strftime("%H:%M") if when is not None else "?"
