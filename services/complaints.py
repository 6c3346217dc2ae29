"""Complaints (CMP-n) and compliments.

A complaint has an owner (the customer's relationship owner, else the service's team lead), a
response target, and the lifecycle New → Investigating → Responded → Closed. The owner is
reminded before the target (outbox rows, cancelled once it is responded to); the complainant
is told at each step by direct message (outbox). A compliment is recorded and passed to the
service's team lead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.policy import Policy, Service
from models.relationship import (
    COMPLAINT_PREFIX,
    OPEN_COMPLAINTS,
    SUMMARY_MAX,
    TEXT_MAX,
    Complaint,
    ComplaintStatus,
    Compliment,
)
from services import audit, inserts, notifications, reminders, service_list, surveys
from services.errors import Forbidden, InvalidInput
from services.lifecycle import Lifecycle
from services.mrkdwn import mention, user_text
from services.permissions import Actor
from services.records import RecordKind, is_person

S = ComplaintStatus
KIND_NAME = "complaint"


def owner_or_agents(doing: str) -> Any:
    """The complaint's owner, or a service desk agent."""

    def rule(actor: Actor, record: Any) -> None:
        if actor.is_agent or (record is not None and actor.user_id == record.owner):
            return
        raise Forbidden(f"Only the complaint's owner or a service desk agent can {doing}.")

    return rule


LIFECYCLE = Lifecycle(
    "complaint",
    {
        "investigate": ([S.NEW], S.INVESTIGATING),
        "respond": ([S.NEW, S.INVESTIGATING], S.RESPONDED),
        "reopen": ([S.RESPONDED], S.INVESTIGATING),
        "close": ([S.RESPONDED], S.CLOSED),
    },
    final=[S.CLOSED],
    label=lambda state: ComplaintStatus(state).label,
    action_label={
        "investigate": "investigated",
        "respond": "responded to",
        "reopen": "reopened",
        "close": "closed",
    },
    anyone_else=owner_or_agents("work on complaints"),
)

KIND = RecordKind(Complaint, COMPLAINT_PREFIX, "complaint", "CMP-3", LIFECYCLE)
get = KIND.get

TOLD = {
    "received": "Thank you: your complaint {key} is recorded. {owner} will respond by {due}.",
    "investigate": "Your complaint {key} is being investigated by {owner}.",
    "respond": "{owner} responded to your complaint {key}:\n>{response}",
    "reopen": "Your complaint {key} is being looked into again.",
    "close": "Your complaint {key} is closed. Thank you for telling us.",
}


def owner_for(policy: Policy, *, service: Service | None, customer: str | None) -> str | None:
    """The customer's relationship owner, else the service's team lead."""
    named = next((c for c in policy.customers if customer and c.name == customer), None)
    if named and named.owner:
        return named.owner
    team = policy.team(service.team) if service else None
    return team.lead if team else None


def _clean(summary: str, description: str) -> tuple[str, str]:
    summary = " ".join((summary or "").split())
    description = (description or "").strip()
    if not summary:
        raise InvalidInput("Say in a few words what happened.")
    if len(summary) > SUMMARY_MAX:
        raise InvalidInput(f"Keep the summary under {SUMMARY_MAX} characters.")
    if len(description) > TEXT_MAX:
        raise InvalidInput(f"Keep the details under {TEXT_MAX} characters.")
    return summary, description


def _service(session: Session, policy: Policy, service: str | None) -> Service | None:
    """The service on the list now (one a change added included, a retired one refused)."""
    if not service:
        return None
    found = service_list.find(session, policy=policy, name=service)
    if found is None:
        raise InvalidInput(f"'{user_text(service[:60])}' is not one of the services.")
    return found


def _tell(session: Session, complaint: Complaint, stage: str, now: datetime) -> None:
    """Tell the complainant about this step, by direct message (through the outbox)."""
    if not is_person(complaint.complainant):
        return
    text = TOLD[stage].format(
        key=complaint.key,
        owner=mention(complaint.owner, nobody="the service desk"),
        due=f"{complaint.response_due_at:%a %d %b %H:%M} UTC",
        response=user_text(complaint.response or ""),
    )
    notifications.schedule(
        session,
        record_key=complaint.key,
        kind=KIND_NAME,
        stage=f"{stage}@{now:%Y%m%dT%H%M%S}",
        recipient=complaint.complainant,
        due_at=now,
        text=text,
        now=now,
    )


def plan(complaint: Complaint, policy: Policy) -> list[reminders.Planned]:
    """The owner's reminders before the response target, while not responded to."""
    if complaint.state not in (S.NEW, S.INVESTIGATING) or not complaint.owner:
        return []
    return [
        reminders.Planned(
            f"respond:{int(before.total_seconds())}s",
            complaint.response_due_at - before,
            complaint.owner,
        )
        for before in policy.complaints.remind_before
    ]


def _sync(session: Session, complaint: Complaint, policy: Policy, now: datetime) -> None:
    reminders.sync(
        session,
        record_key=complaint.key,
        plan=plan(complaint, policy),
        text=lambda _p: (
            f":hourglass: Complaint {complaint.key} ({user_text(complaint.summary)}) is due a "
            f"response by {complaint.response_due_at:%a %d %b %H:%M} UTC."
        ),
        now=now,
    )


def raise_complaint(
    session: Session,
    *,
    summary: str,
    description: str,
    service: str | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
    complainant: str | None = None,
    from_record: str | None = None,
    submission_id: str | None = None,
) -> Complaint:
    """Record a complaint (anyone may complain); a second delivery of the same form returns
    the first."""
    summary, description = _clean(summary, description)
    listed = _service(session, policy, service)
    service = listed.name if listed else None
    customer = surveys.customer_for(policy, service=service, agreement=None)
    owner = owner_for(policy, service=listed, customer=customer.name if customer else None)
    draft = Complaint(
        summary=summary,
        description=description,
        service=service,
        customer=customer.name if customer else None,
        complainant=complainant or actor.user_id,
        owner=owner,
        response_due_at=now + policy.complaints.response_target,
        from_record=from_record,
        submission_id=submission_id,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    complaint, created = inserts.insert_submitted(session, draft)
    if not created:
        return complaint
    audit.record(
        session, key=complaint.key, actor=actor.user_id, at=now, action="created", after=S.NEW
    )
    _tell(session, complaint, "received", now)
    _sync(session, complaint, policy, now)
    return complaint


def step(
    session: Session, *, key: str, action: str, actor: Actor, now: datetime, policy: Policy
) -> Complaint:
    """A plain move (investigate, reopen, close); the complainant is told."""
    complaint = KIND.step(session, key=key, action=action, actor=actor, now=now)
    if action == "close":
        complaint.closed_at = now
    _tell(session, complaint, action, now)
    _sync(session, complaint, policy, now)
    return complaint


def respond(
    session: Session, *, key: str, response: str, actor: Actor, now: datetime, policy: Policy
) -> Complaint:
    """Record the response to the complainant (required): → Responded; they receive it."""
    text = (response or "").strip()
    if not text:
        raise InvalidInput("Write the response the complainant receives.")
    if len(text) > TEXT_MAX:
        raise InvalidInput(f"Keep the response under {TEXT_MAX} characters.")
    complaint = KIND.step(session, key=key, action="respond", actor=actor, now=now, note=text)
    complaint.response = text
    complaint.responded_at = now
    _tell(session, complaint, "respond", now)
    _sync(session, complaint, policy, now)
    return complaint


def investigate(
    session: Session, *, key: str, actor: Actor, now: datetime, policy: Policy
) -> Complaint:
    """New → Investigating."""
    return step(session, key=key, action="investigate", actor=actor, now=now, policy=policy)


def reopen(session: Session, *, key: str, actor: Actor, now: datetime, policy: Policy) -> Complaint:
    """Responded → Investigating (the response did not settle it)."""
    return step(session, key=key, action="reopen", actor=actor, now=now, policy=policy)


def close(session: Session, *, key: str, actor: Actor, now: datetime, policy: Policy) -> Complaint:
    """Responded → Closed."""
    return step(session, key=key, action="close", actor=actor, now=now, policy=policy)


def from_survey(
    session: Session, *, record_key: str, actor: Actor, now: datetime, policy: Policy
) -> Complaint:
    """A follow-up of a low satisfaction score: a complaint on the reporter's behalf, owned
    as any other; once per survey."""
    survey = surveys.check_follow_up(session, record_key=record_key, actor=actor, policy=policy)
    comment = f"\n{survey.comment}" if survey.comment else ""
    complaint = raise_complaint(
        session,
        summary=f"Low satisfaction score {survey.score}/5 on {survey.record_key}",
        description=f"Follow-up of the satisfaction survey.{comment}",
        service=survey.service,
        actor=actor,
        now=now,
        policy=policy,
        complainant=survey.recipient,
        from_record=survey.record_key,
    )
    survey.follow_up = complaint.key
    session.add(survey)
    return complaint


def open_complaints(session: Session, *, limit: int = 50) -> list[Complaint]:
    """Complaints not closed yet, the nearest response target first."""
    return list(
        session.exec(
            select(Complaint)
            .where(col(Complaint.status).in_([s.value for s in OPEN_COMPLAINTS]))
            .order_by(col(Complaint.response_due_at), col(Complaint.id))
            .limit(limit)
        )
    )


def compliment(
    session: Session,
    *,
    text: str,
    service: str | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
    submission_id: str | None = None,
) -> Compliment | None:
    """Record a compliment and pass it to the service's team lead (None: a second delivery)."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Say what went well.")
    if len(text) > TEXT_MAX:
        raise InvalidInput(f"Keep it under {TEXT_MAX} characters.")
    found = _service(session, policy, service)
    service = found.name if found else None
    team = policy.team(found.team) if found else None
    stored = inserts.insert_new(
        session,
        Compliment(
            service=service,
            team=team.name if team else None,
            text=text,
            given_by=actor.user_id,
            created_at=now,
            submission_id=submission_id,
        ),
    )
    if stored is None:
        return None
    if team and team.lead:
        about = f" about {user_text(service)}" if service else ""
        notifications.schedule(
            session,
            record_key=f"KUDOS-{stored.id}",
            kind="compliment",
            stage="passed",
            recipient=team.lead,
            due_at=now,
            text=f":tada: A compliment{about} from {mention(actor.user_id)} for team "
            f"{user_text(team.name)}:\n>{user_text(text)}",
            now=now,
        )
    return stored
