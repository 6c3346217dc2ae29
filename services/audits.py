"""Internal audits (AUD-n) on a schedule (`[[sms.audits]]`: scope, auditor, cadence). The
sweep keeps one open audit per plan: when a plan has none, it creates the next, due one
cadence after the last one's date (or on `first`), and plans the auditor's reminders through
the outbox. The auditor starts it, records findings as nonconformities (`/nc AUD-n`) and
completes it with a conclusion; an admin may cancel one (the next is then planned)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from models.improvement import (
    AUDIT_OPEN,
    AuditStatus,
    InternalAudit,
    Nonconformity,
)
from models.policy import Policy
from models.sms_policy import AuditPlan
from services import cadence, reminders
from services.due_reminders import form_text
from services.errors import Forbidden
from services.lifecycle import Lifecycle, admins_cancel
from services.mrkdwn import mention, user_text
from services.permissions import Actor
from services.records import RecordKind

S = AuditStatus
SYSTEM_ACTOR = cadence.SYSTEM_ACTOR
LIST_LIMIT = 50


def _auditor(actor: Actor, record: Any) -> None:
    if actor.is_admin or actor.user_id == record.auditor:
        return
    raise Forbidden(
        f"Only {record.key}'s auditor ({mention(record.auditor)}) or an admin can do that."
    )


LIFECYCLE = Lifecycle(
    "internal_audit",
    {
        "start": ([S.PLANNED], S.IN_PROGRESS),
        "complete": ([S.IN_PROGRESS], S.COMPLETED),
        "cancel": ([S.PLANNED, S.IN_PROGRESS], S.CANCELLED),
        "finding": ([S.IN_PROGRESS, S.COMPLETED], None),
    },
    final=[S.COMPLETED, S.CANCELLED],
    label=lambda state: AuditStatus(state).label,
    action_label={
        "start": "started",
        "complete": "completed",
        "cancel": "cancelled",
        "finding": "given findings",
    },
    who={"start": _auditor, "complete": _auditor, "cancel": admins_cancel, "finding": _auditor},
)

KIND = RecordKind(InternalAudit, "AUD", "internal audit", "AUD-2", LIFECYCLE)


def reminder_text(record: InternalAudit, planned: reminders.Planned) -> str:
    late = planned.stage.startswith("overdue")
    when = (
        f"was due on {record.planned_on:%a %d %b %Y} and has not started"
        if late
        else f"is due on {record.planned_on:%a %d %b %Y}"
    )
    return (
        f":clipboard: The internal audit {record.key} *{user_text(record.name)}* "
        f"({user_text(record.scope)}) {when}. Press *Start* on its message when you begin."
    )


def _plan(session: Session, record: InternalAudit, plan: AuditPlan | None, now: datetime) -> None:
    """The auditor's reminders while the audit is planned; none once it started or ended."""
    wanted: list[reminders.Planned] = []
    if plan is not None and record.state is S.PLANNED:
        wanted = cadence.reminders_for(
            record.planned_on, stage="audit", remind_before=plan.remind_before, who=record.auditor
        )
    reminders.sync(
        session,
        record_key=record.key,
        plan=wanted,
        text=lambda p: reminder_text(record, p),
        now=now,
    )


def sweep(session: Session, *, now: datetime, policy: Policy) -> list[str]:
    """Create the next audit of every plan that has none open; returns their keys. One query
    reads every plan's standing (its latest date and whether one is open); a plan that has an
    open audit costs nothing more."""
    plans = policy.sms.audits
    if not plans:
        return []
    open_values = [s.value for s in AUDIT_OPEN]
    standing = {
        name: (last, open_count)
        for name, last, open_count in session.exec(
            select(
                InternalAudit.name,
                func.max(InternalAudit.planned_on),
                func.sum(case((col(InternalAudit.status).in_(open_values), 1), else_=0)),
            ).group_by(InternalAudit.name)
        )
    }
    created = []
    for plan in plans:
        last, open_count = standing.get(plan.name, (None, 0))
        if open_count:
            continue
        record = InternalAudit(
            name=plan.name,
            scope=plan.scope,
            auditor=plan.auditor,
            planned_on=plan.next_date(last, now.date()),
            created_by=SYSTEM_ACTOR,
            created_at=now,
            updated_at=now,
        )
        note = f"{plan.name}, due {record.planned_on.isoformat()}"
        if not cadence.add_planned(session, record, now=now, after=S.PLANNED, note=note):
            continue  # another instance planned it first
        _plan(session, record, plan, now)
        created.append(record.key)
    return created


def start(session: Session, *, key: str, actor: Actor, now: datetime) -> InternalAudit:
    """Planned → In progress, by the auditor (or an admin); the reminders stop."""
    record = KIND.step(session, key=key, action="start", actor=actor, now=now)
    _plan(session, record, None, now)
    return record


def complete(
    session: Session, *, key: str, conclusion: str | None, actor: Actor, now: datetime
) -> InternalAudit:
    """In progress → Completed with the auditor's conclusion. The sweep plans the next one."""
    text = form_text(conclusion, what="the audit's conclusion", field="note")
    record = KIND.step(session, key=key, action="complete", actor=actor, now=now, note=text)
    record.conclusion, record.completed_at = text, now
    session.add(record)
    return record


def cancel(session: Session, *, key: str, actor: Actor, now: datetime) -> InternalAudit:
    """Planned or In progress → Cancelled, by an admin; the sweep plans the next one."""
    record = KIND.step(session, key=key, action="cancel", actor=actor, now=now)
    _plan(session, record, None, now)
    return record


def check_step(record: InternalAudit, action: str, actor: Actor) -> None:
    KIND.check_step(record, action, actor)


def findings(session: Session, *, key: str) -> list[Nonconformity]:
    """The nonconformities found by this audit (their source names it)."""
    return list(
        session.exec(
            select(Nonconformity).where(Nonconformity.source == key).order_by(col(Nonconformity.id))
        )
    )


def register(session: Session, *, open_only: bool = True) -> list[InternalAudit]:
    """Audits by date: the open ones (or the latest of all)."""
    statement = (
        select(InternalAudit).order_by(col(InternalAudit.planned_on).desc()).limit(LIST_LIMIT)
    )
    if open_only:
        statement = statement.where(col(InternalAudit.status).in_([s.value for s in AUDIT_OPEN]))
    return list(session.exec(statement))
