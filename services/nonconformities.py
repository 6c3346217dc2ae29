"""Nonconformities (NC-n): a requirement not met, found by an internal audit or a review. Its
owner records the correction (what was fixed now) and the corrective action (what removes
the cause) with a due date, and says when the action is done; whoever raised it (or an admin)
then checks that the action worked: closed with the evidence, or sent back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from models.improvement import NC_OPEN, InternalAudit, NcStatus, Nonconformity
from services import audits, due_reminders, registers
from services.due_reminders import form_text, parse_due
from services.errors import FieldError, Forbidden, ServiceDeskError
from services.lifecycle import Lifecycle
from services.mrkdwn import is_user_id, mention, user_text
from services.permissions import Actor, require_agent
from services.records import RecordKind

S = NcStatus
SOURCE_MAX = 100


def _owner(actor: Actor, record: Any) -> None:
    if actor.is_admin or actor.user_id == record.owner:
        return
    raise Forbidden(
        f"Only {record.key}'s owner ({mention(record.owner)}) or an admin can work on its "
        "corrective action."
    )


def _verifier(actor: Actor, record: Any) -> None:
    if actor.is_admin or actor.user_id == record.created_by:
        return
    raise Forbidden(
        f"Only whoever raised {record.key} ({mention(record.created_by)}) or an admin can "
        "judge whether its corrective action worked."
    )


LIFECYCLE = Lifecycle(
    "nonconformity",
    {
        "plan": ([S.OPEN, S.ACTION_PLANNED], S.ACTION_PLANNED),
        "action_done": ([S.ACTION_PLANNED], S.VERIFYING),
        "close": ([S.VERIFYING], S.CLOSED),
        "not_effective": ([S.VERIFYING], S.ACTION_PLANNED),
    },
    final=[S.CLOSED],
    label=lambda state: NcStatus(state).label,
    action_label={
        "plan": "given a corrective action",
        "action_done": "marked as done",
        "close": "closed",
        "not_effective": "sent back",
    },
    who={
        "plan": _owner,
        "action_done": _owner,
        "close": _verifier,
        "not_effective": _verifier,
    },
)

KIND = RecordKind(Nonconformity, "NC", "nonconformity", "NC-3", LIFECYCLE)


def raise_nc(
    session: Session,
    *,
    title: str | None,
    description: str | None,
    owner: str | None,
    source: str | None,
    actor: Actor,
    now: datetime,
    submission_id: str | None = None,
) -> Nonconformity:
    """An agent (an auditor, a reviewer) records a nonconformity and names its owner. A second
    call with the same `submission_id` returns the first one."""
    may_raise(actor)
    cleaned = registers.form_title(title, missing="Say in a line which requirement was not met.")
    if not is_user_id(owner):
        raise FieldError("owner", "Choose the person who owns putting it right.")
    where = " ".join((source or "").split())
    if where.upper().startswith("AUD-"):
        _found_by_audit(session, where, now)
        where = where.upper()  # the audit's key, as the audit's findings look it up
    if len(where) > SOURCE_MAX:
        raise FieldError("source", f"Keep the source under {SOURCE_MAX} characters.")
    return registers.raise_submitted(
        session,
        KIND,
        description=description,
        actor=actor,
        now=now,
        submission_id=submission_id,
        note=f"owner {owner}" + (f", found by {where}" if where else ""),
        title=cleaned,
        source=where,
        owner=owner,
    )


def _found_by_audit(session: Session, key: str, now: datetime) -> None:
    """The audit must exist; its message is marked stale, so the sweep re-renders it with the
    new finding."""
    try:
        found = audits.KIND.get(session, key=key, for_update=True)
    except ServiceDeskError as error:
        raise FieldError("source", str(error)) from None
    # Its message now lags behind (a new finding): the sweep that refreshes stale messages
    # re-renders it. Done by the database, like every other bump (services.records).
    found.message_version = InternalAudit.message_version + 1  # type: ignore[assignment]
    found.updated_at = now
    session.add(found)


def may_raise(actor: Actor) -> None:
    """Before the form opens: only agents record nonconformities (raise_nc checks again)."""
    require_agent(actor, doing="record nonconformities")


def check_step(record: Nonconformity, action: str, actor: Actor) -> None:
    KIND.check_step(record, action, actor)


def what(record: Nonconformity) -> str:
    return f"The corrective action of {record.key} ({user_text(record.title)})"


def plan_action(
    session: Session,
    *,
    key: str,
    correction: str | None,
    corrective_action: str | None,
    due_on: date | str | None,
    actor: Actor,
    now: datetime,
) -> Nonconformity:
    """Open (or sent back) → Action planned: the correction, the corrective action and its due
    date; the owner is reminded of the date."""
    fixed = form_text(correction, what="the correction", field="correction")
    action = form_text(corrective_action, what="the corrective action", field="corrective_action")
    due = parse_due(due_on, now)
    record = KIND.step(session, key=key, action="plan", actor=actor, now=now, note=action)
    for field, value in (("correction", fixed), ("corrective_action", action)):
        if getattr(record, field) != value:
            KIND.set_field(session, record, field, value, actor=actor, now=now)
    KIND.set_field(session, record, "due_on", due, actor=actor, now=now, action="due date set")
    session.add(record)
    due_reminders.plan(
        session, key=record.key, owner=record.owner, due_on=due, what=what(record), now=now
    )
    return record


def action_done(session: Session, *, key: str, actor: Actor, now: datetime) -> Nonconformity:
    """Action planned → Verifying: the owner says the corrective action is done."""
    record = KIND.step(session, key=key, action="action_done", actor=actor, now=now)
    due_reminders.plan(session, key=record.key, owner=None, due_on=None, what="", now=now)
    return record


def close(
    session: Session, *, key: str, evidence: str | None, actor: Actor, now: datetime
) -> Nonconformity:
    """Verifying → Closed, with the evidence that the corrective action worked."""
    text = form_text(evidence, what="the evidence that the action worked", field="note")
    record = KIND.step(session, key=key, action="close", actor=actor, now=now, note=text)
    record.effectiveness, record.closed_at = text, now
    session.add(record)
    return record


def not_effective(
    session: Session, *, key: str, reason: str | None, actor: Actor, now: datetime
) -> Nonconformity:
    """Verifying → Action planned again: the action did not remove the cause. The owner plans
    a new action (the form asks for a new due date)."""
    text = form_text(reason, what="why it did not work", field="note")
    record = KIND.step(session, key=key, action="not_effective", actor=actor, now=now, note=text)
    due_reminders.plan(
        session,
        key=record.key,
        owner=record.owner,
        due_on=record.due_on,
        what=what(record),
        now=now,
    )
    return record


def register(session: Session, *, open_only: bool = True) -> list[Nonconformity]:
    """Nonconformities, open ones (or all), newest first."""
    return registers.newest(session, KIND, open_states=NC_OPEN, open_only=open_only)
