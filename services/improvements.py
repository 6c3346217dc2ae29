"""Improvement opportunities (IMP-n), the continual-improvement register: anyone raises one
with `/improve`; the owner of the process it improves (or an admin) approves it, naming who
does it and by when, or rejects it with a reason; its owner records it done."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from models.improvement import (
    IMPROVEMENT_OPEN,
    Improvement,
    ImprovementStatus,
)
from models.policy import Policy
from models.sms_policy import PROCESSES
from services import audit, due_reminders, registers
from services.due_reminders import form_text, parse_due
from services.errors import FieldError, Forbidden
from services.lifecycle import Lifecycle
from services.mrkdwn import is_user_id, mention, ref_mention, user_text
from services.permissions import Actor, MembersOf, in_any
from services.records import RecordKind

S = ImprovementStatus


def _evaluator(actor: Actor, record: Any) -> None:
    """The process owner (a person) or an admin; a process owned by a group is checked with
    the group's members by `check_evaluator`."""
    if actor.is_admin or (record.evaluator and actor.user_id == record.evaluator):
        return
    raise Forbidden(
        f"Only the process owner ({_who(record.evaluator)}) or an admin can evaluate {record.key}."
    )


def _owner(actor: Actor, record: Any) -> None:
    if actor.is_admin or (record.owner and actor.user_id == record.owner):
        return
    raise Forbidden(f"Only {record.key}'s owner ({mention(record.owner)}) or an admin can do that.")


def _who(ref: str | None) -> str:
    return ref_mention(ref) if ref else "none is named in `[sms.process_owners]`"


LIFECYCLE = Lifecycle(
    "improvement",
    {
        "approve": ([S.PROPOSED], S.APPROVED),
        "reject": ([S.PROPOSED], S.REJECTED),
        "done": ([S.APPROVED], S.DONE),
    },
    final=[S.REJECTED, S.DONE],
    label=lambda state: ImprovementStatus(state).label,
    action_label={"approve": "approved", "reject": "rejected", "done": "recorded as done"},
    who={"approve": _evaluator, "reject": _evaluator, "done": _owner},
)

KIND = RecordKind(Improvement, "IMP", "improvement", "IMP-4", LIFECYCLE)


def _process(name: str | None) -> str:
    cleaned = (name or "").strip().lower().replace(" ", "_")
    if cleaned not in PROCESSES:
        raise FieldError("process", "Choose the process it improves.")
    return cleaned


def propose(
    session: Session,
    *,
    title: str | None,
    description: str | None,
    process: str | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
    submission_id: str | None = None,
) -> Improvement:
    """Anyone raises an improvement; its evaluator is the process's owner now. A second call
    with the same `submission_id` returns the first one."""
    cleaned = registers.form_title(title, missing="Give the improvement a short title.")
    chosen = _process(process)
    return registers.raise_submitted(
        session,
        KIND,
        description=description,
        actor=actor,
        now=now,
        submission_id=submission_id,
        title=cleaned,
        process=chosen,
        evaluator=getattr(policy.sms.process_owners, chosen),
    )


def check_evaluator(record: Improvement, actor: Actor, members_of: MembersOf) -> None:
    """May `actor` approve or reject now: an admin, the process owner, or a member of the
    owning group; and the improvement is still proposed."""
    if not (actor.is_admin or in_any(actor.user_id, [record.evaluator], members_of)):
        _evaluator(actor, record)
    LIFECYCLE.check("approve", record.status, key=record.key)


def check_step(
    record: Improvement, action: str, actor: Actor, members_of: MembersOf | None = None
) -> None:
    """Before a form opens (and in the no-dead-ends test): who may, and the state allows."""
    if action in ("approve", "reject"):
        check_evaluator(record, actor, members_of or (lambda ref: frozenset()))
        return
    KIND.check_step(record, action, actor)


def what(record: Improvement) -> str:
    return f"{record.key} ({user_text(record.title)})"


def approve(
    session: Session,
    *,
    key: str,
    owner: str | None,
    due_on: date | str | None,
    note: str | None,
    actor: Actor,
    members_of: MembersOf,
    now: datetime,
) -> Improvement:
    """Proposed → Approved, with who does it and by when; the owner is reminded of the date."""
    record = KIND.get(session, key=key, for_update=True)
    check_evaluator(record, actor, members_of)
    if not is_user_id(owner):
        raise FieldError("owner", "Choose who will carry it out.")
    due = parse_due(due_on, now)
    text = form_text(note, what="the note", field="note", required=False)
    LIFECYCLE.move(session, record, "approve", actor=actor.user_id, now=now, note=text or None)
    record.owner, record.due_on, record.decided_by = owner, due, actor.user_id
    record.decision_note = text or None
    audit.record(
        session,
        key=key,
        actor=actor.user_id,
        at=now,
        action="owner set",
        field="owner",
        after=owner,
        note=f"due {due.isoformat()}",
    )
    session.add(record)
    due_reminders.plan(session, key=record.key, owner=owner, due_on=due, what=what(record), now=now)
    return record


def reject(
    session: Session,
    *,
    key: str,
    reason: str | None,
    actor: Actor,
    members_of: MembersOf,
    now: datetime,
) -> Improvement:
    """Proposed → Rejected, with the reason (told to whoever raised it)."""
    record = KIND.get(session, key=key, for_update=True)
    check_evaluator(record, actor, members_of)
    text = form_text(reason, what="the reason", field="note")
    LIFECYCLE.move(session, record, "reject", actor=actor.user_id, now=now, note=text)
    record.decision_note, record.decided_by = text, actor.user_id
    session.add(record)
    return record


def done(
    session: Session, *, key: str, outcome: str | None, actor: Actor, now: datetime
) -> Improvement:
    """Approved → Done by its owner (or an admin), with what came of it."""
    text = form_text(outcome, what="what came of it", field="note")
    record = KIND.step(session, key=key, action="done", actor=actor, now=now, note=text)
    record.outcome, record.done_at = text, now
    session.add(record)
    due_reminders.plan(session, key=record.key, owner=None, due_on=None, what="", now=now)
    return record


def register(session: Session, *, open_only: bool = True) -> list[Improvement]:
    """The continual-improvement register: open ones (or all), newest first."""
    return registers.newest(session, KIND, open_states=IMPROVEMENT_OPEN, open_only=open_only)


def process_label(process: str) -> str:
    return PROCESSES.get(process, process)
