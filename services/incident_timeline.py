"""A major incident's timeline: every step of the incident from its audit trail, its status
updates, and the messages responders marked "Add to timeline", in the order they happened."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from models.audit import AuditEntry
from models.major_incident import TIMELINE_TEXT_MAX, Role, TimelineEntry, TimelineKind
from services import audit, incidents, major_incidents, security
from services.permissions import Actor, require_agent_or


def mark(
    session: Session,
    *,
    key: str,
    text: str,
    author: str | None,
    source_ts: str,
    actor: Actor,
    now: datetime,
) -> bool:
    """A message a responder marked "Add to timeline". Agents, responders and the incident's
    people may; marking one message twice keeps it once (False)."""
    major = major_incidents.get(session, key=key)
    incident = incidents.get(session, key=major.incident_key)
    security.require_visible(incident, actor)
    require_agent_or(
        actor,
        user_ids={major.commander, major.comms_lead, incident.assignee, incident.reporter},
        doing="add to a major incident's timeline",
        who="the incident's commander, communications lead, assignee, reporter",
        responders=True,
    )
    text = (text or "").strip() or "(a message without text)"
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    added = session.execute(
        insert(TimelineEntry)
        .values(
            record_key=major.incident_key,
            at=now,
            actor=actor.user_id,
            kind=TimelineKind.MARKED.value,
            text=text[:TIMELINE_TEXT_MAX],
            author=author if author and re.fullmatch(r"[UWB][A-Z0-9]{2,31}", author) else None,
            source_ts=source_ts[:32],
        )
        .on_conflict_do_nothing(index_elements=["record_key", "source_ts"])
        .returning(TimelineEntry.id)  # type: ignore[arg-type]
    ).scalar_one_or_none()
    return added is not None


@dataclass(frozen=True)
class Moment:
    """One line of the timeline, as plain text (renderers escape it); `subject` is a person
    the line is about (a new commander), shown as a mention."""

    at: datetime
    actor: str
    text: str
    subject: str | None = None
    after: str = ""  # plain text after the subject


def timeline(session: Session, *, key: str) -> list[Moment]:
    """Every step of the incident (its audit trail: creation, moves, roles, escalations),
    its status updates and the messages marked for it, in the order they happened."""
    incident = incidents.get(session, key=key)
    moments = [
        _audit_moment(entry)
        for entry in audit.trail(session, key=incident.key)
        if entry.action != major_incidents.STATUS_UPDATE
    ]
    entries = session.exec(
        select(TimelineEntry)
        .where(TimelineEntry.record_key == incident.key)
        .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
    )
    moments += [_entry_moment(entry) for entry in entries]
    return sorted(moments, key=lambda moment: moment.at)


def _audit_moment(entry: AuditEntry) -> Moment:
    if entry.action == "role":
        roles = {r.value: r.label for r in Role}
        return Moment(
            entry.at, entry.actor, f"{roles.get(entry.field or '', 'Role')}:", entry.to_value
        )
    words = entry.action.replace("_", " ")
    if entry.field == "status" and entry.to_value:
        words += f" → {entry.to_value.replace('_', ' ')}"
    elif entry.field == "assignee":
        return Moment(entry.at, entry.actor, "assigned to", entry.to_value)
    elif entry.field and entry.to_value is not None:
        words += f" {entry.field.replace('_', ' ')} → {entry.to_value}"
    if entry.note:
        words += f" ({entry.note})"
    return Moment(entry.at, entry.actor, words)


def _entry_moment(entry: TimelineEntry) -> Moment:
    if entry.kind == TimelineKind.UPDATE.value:
        text = f"status update: {entry.text} · impact: {entry.impact}"
        if entry.next_steps:
            text += f" · next: {entry.next_steps}"
        return Moment(entry.at, entry.actor, text)
    if entry.author:
        return Moment(entry.at, entry.actor, "marked a message by", entry.author, f": {entry.text}")
    return Moment(entry.at, entry.actor, f"marked: {entry.text}")


def latest_update(session: Session, *, key: str) -> TimelineEntry | None:
    statement = (
        select(TimelineEntry)
        .where(TimelineEntry.record_key == key, TimelineEntry.kind == TimelineKind.UPDATE.value)
        .order_by(col(TimelineEntry.at).desc(), col(TimelineEntry.id).desc())
    )
    return session.exec(statement).first()
