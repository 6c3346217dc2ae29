"""Change management: the lifecycle and who may move it; log, assess, schedule, implement,
review, cancel. By role, beside it: change_approvals (asking for approval, quorum and freeze
rules, decisions), change_calendar (the calendar and conflicts), change_plan (reminder timing)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from models.change import (
    KEY_PREFIX,
    TARGET_MAX,
    TITLE_MAX,
    Change,
    ChangeApproval,
    ChangeInput,
    ChangeStatus,
    ChangeTarget,
    ChangeType,
    Decision,
    ReviewOutcome,
    Risk,
)
from models.change_policy import FreezeWindow
from models.policy import Policy
from services import audit, inserts
from services.errors import FieldError, NotAllowed
from services.lifecycle import Lifecycle, Rule
from services.mrkdwn import user_text
from services.permissions import Actor, require_agent_or
from services.records import RecordKind

S = ChangeStatus


def _owner(doing: str) -> Rule:
    """The change's requester or implementer, or an agent, may make this move."""

    def rule(actor: Actor, change: Change) -> None:
        require_agent_or(
            actor,
            user_ids={change.requester, change.implementer},
            doing=doing,
            who="the requester, the implementer",
        )

    return rule


LIFECYCLE = Lifecycle(
    "change",
    {
        "assess": ([S.NEW], S.ASSESSMENT),
        "submit": ([S.NEW, S.ASSESSMENT], S.AWAITING_APPROVAL),
        "decide": ([S.AWAITING_APPROVAL], None),
        "approve": ([S.AWAITING_APPROVAL], S.APPROVED),
        "reject": ([S.AWAITING_APPROVAL], S.REJECTED),
        "schedule": ([S.APPROVED, S.SCHEDULED], S.SCHEDULED),
        "start": ([S.SCHEDULED], S.IMPLEMENTING),
        "complete": ([S.IMPLEMENTING], S.REVIEW),
        "release_deployed": ([S.APPROVED, S.SCHEDULED, S.IMPLEMENTING], S.REVIEW),
        "review": ([S.REVIEW], S.CLOSED),
        # A service change's acceptance test, recorded before it is implemented.
        "accept": ([S.APPROVED, S.SCHEDULED], None),
        "cancel": (
            [S.NEW, S.ASSESSMENT, S.AWAITING_APPROVAL, S.APPROVED, S.SCHEDULED],
            S.CANCELLED,
        ),
    },
    final=[S.REJECTED, S.CLOSED, S.CANCELLED],
    label=lambda state: ChangeStatus(state).label,
    action_label={
        "assess": "assessed",
        "submit": "submitted for approval",
        "decide": "approved or rejected",
        "approve": "approved",
        "reject": "rejected",
        "schedule": "scheduled",
        "start": "started",
        "complete": "marked implemented",
        "release_deployed": "moved to review by a release",
        "review": "reviewed and closed",
        "accept": "acceptance-tested",
        "cancel": "cancelled",
    },
    # Approvals are decided by the approvers (see may_decide / decide), not by this table.
    who={
        "assess": _owner("assess a change"),
        "submit": _owner("submit a change for approval"),
        "schedule": _owner("schedule a change"),
        "start": _owner("start implementing a change"),
        "complete": _owner("mark a change implemented"),
        "review": _owner("review a change"),
        "accept": _owner("record a change's acceptance test"),
        "cancel": _owner("cancel a change"),
    },
)


# ---------------------------------------------------------------------------- keys and reads


KIND = RecordKind(Change, KEY_PREFIX, "change", "CHG-12", LIFECYCLE)
# Reading by key and the announce sweep's list come from the kind.
parse_key, unannounced, get = KIND.parse_key, KIND.unannounced, KIND.get


def targets(session: Session, *, key: str) -> list[str]:
    """The services or configuration items the change touches."""
    statement = (
        select(ChangeTarget.target)
        .where(ChangeTarget.change_id == parse_key(key))
        .order_by(col(ChangeTarget.target))
    )
    return list(session.exec(statement))


def list_changes(
    session: Session,
    *,
    status: ChangeStatus | str | None = None,
    mine: str | None = None,
    limit: int = 25,
) -> list[Change]:
    """Changes, newest first; optionally in one status, or requested or implemented by `mine`."""
    statement = select(Change)
    if status is not None:
        statement = statement.where(Change.status == ChangeStatus(status).value)
    if mine is not None:
        statement = statement.where(or_(Change.requester == mine, Change.implementer == mine))
    statement = statement.order_by(col(Change.created_at).desc(), col(Change.id).desc())
    return list(session.exec(statement.limit(limit)))


def approvals(session: Session, *, key: str) -> list[ChangeApproval]:
    """Every approval decision on the change, in the order they were made."""
    statement = (
        select(ChangeApproval)
        .where(ChangeApproval.change_id == parse_key(key))
        .order_by(col(ChangeApproval.decided_at), col(ChangeApproval.id))
    )
    return list(session.exec(statement))


# ---------------------------------------------------------------------------- risk


def risk_from_answers(policy: Policy, answers: dict[str, bool]) -> Risk:
    """Risk from the policy's yes/no questionnaire: the weights of the answers are summed and
    the score compared with the thresholds. Unanswered questions count as 'no'."""
    questions = {question.id: question for question in policy.changes.risk_questions}
    unknown = sorted(set(answers) - set(questions))
    if unknown:
        raise FieldError("risk_answers", f"'{unknown[0]}' is not one of the risk questions.")
    score = sum(
        question.weight if answers.get(question.id, False) else question.no_weight
        for question in questions.values()
    )
    thresholds = policy.changes.risk_thresholds
    if score >= thresholds.high:
        return Risk.HIGH
    if score >= thresholds.medium:
        return Risk.MEDIUM
    return Risk.LOW


# ---------------------------------------------------------------------------- validation


def _clean_targets(names: Iterable[str], policy: Policy) -> list[str]:
    cleaned: list[str] = []
    seen: set[str] = set()
    for name in names:
        name = " ".join(name.split())
        if not name:
            continue
        if len(name) > TARGET_MAX:
            raise FieldError("targets", f"'{name[:30]}…' is too long for a service or item name.")
        # Spell known services the way the policy does, so that conflicts match exactly.
        service = policy.service(name)
        name = service.name if service else name
        if name.lower() not in seen:
            seen.add(name.lower())
            cleaned.append(name)
    return cleaned


def _check_window(
    start: datetime | None, end: datetime | None, *, now: datetime, required: bool
) -> None:
    if start is None and end is None and not required:
        return
    if start is None:
        raise FieldError("planned_start", "Give the planned start.")
    if end is None:
        raise FieldError("planned_end", "Give the planned end.")
    if start.tzinfo is None or end.tzinfo is None:
        raise FieldError("planned_start", "Planned times need a time zone.")
    if end <= start:
        raise FieldError("planned_end", "The planned end must be after the planned start.")
    if start < now:
        raise FieldError("planned_start", "The planned start is in the past; choose a later time.")


def _refuse_freeze(freeze: FreezeWindow | None, change_type: ChangeType, *, what: str) -> None:
    if freeze is not None and change_type is not ChangeType.EMERGENCY:
        raise NotAllowed(
            f"{what} falls in the change freeze '{freeze.name}' "
            f"({freeze.start:%d %b %H:%M} to {freeze.end:%d %b %H:%M} UTC). Choose a window "
            "outside it, or raise an emergency change if it cannot wait."
        )


def _freeze_of(change: Change, change_targets: list[str], policy: Policy) -> FreezeWindow | None:
    if change.planned_start is None or change.planned_end is None:
        return None
    return policy.changes.freeze_over(change.planned_start, change.planned_end, change_targets)


# ---------------------------------------------------------------------------- create


def find_by_submission(session: Session, *, submission_id: str) -> Change | None:
    """The change a Slack form submission created, if any."""
    return session.exec(select(Change).where(Change.submission_id == submission_id)).first()


def create(
    session: Session,
    *,
    data: ChangeInput,
    requester: str,
    now: datetime,
    policy: Policy,
    submission_id: str | None = None,
    detailed: bool = False,
) -> Change:
    """Log a change. Standard changes must name a catalogued template and a window, and go
    straight to Scheduled; normal and emergency changes start New and need a backout plan.
    Bad fields raise FieldError naming the field; a window in a freeze raises NotAllowed
    (emergency changes excepted: they need an extra approval instead). A second call with the
    same `submission_id` returns the change the first created. Service and agreement changes
    are logged by their own services (service_changes, agreement_changes), which pass
    `detailed`: the plain change form cannot make one."""
    if submission_id is not None:
        existing = find_by_submission(session, submission_id=submission_id)
        if existing is not None:
            return existing
    title = " ".join(data.title.split())
    if not title:
        raise FieldError("title", "Give the change a short title.")
    if len(title) > TITLE_MAX:
        raise FieldError("title", f"Keep the title under {TITLE_MAX} characters.")
    try:
        change_type = ChangeType(data.type)
    except ValueError:
        change_type = None
    if change_type is None or (change_type.approved_as is not change_type and not detailed):
        raise FieldError("type", "Choose standard, normal or emergency.")
    template = None
    if change_type is ChangeType.STANDARD:
        template = policy.changes.standard(data.standard_template)
        if template is None:
            names = ", ".join(s.name for s in policy.changes.standard_changes) or "none yet"
            raise FieldError(
                "standard_template",
                f"Choose one of the catalogued standard changes ({names}); anything else is a "
                "normal change.",
            )
    elif not data.backout_plan.strip():
        raise FieldError("backout_plan", "Say how the change will be backed out if it fails.")
    _check_window(
        data.planned_start,
        data.planned_end,
        now=now,
        required=change_type is ChangeType.STANDARD,
    )
    if data.risk is not None:
        risk = Risk(data.risk)
    elif data.risk_answers is not None:
        risk = risk_from_answers(policy, data.risk_answers)
    elif template is not None:
        risk = template.risk
    else:
        raise FieldError("risk", "Choose the risk, or answer the risk questions.")
    change_targets = _clean_targets(data.targets, policy)
    if data.planned_start is not None and data.planned_end is not None:
        freeze = policy.changes.freeze_over(data.planned_start, data.planned_end, change_targets)
        _refuse_freeze(freeze, change_type, what="The planned window")
    status = S.SCHEDULED if change_type is ChangeType.STANDARD else S.NEW
    draft = Change(
        title=title,
        description=data.description.strip(),
        type=change_type.value,
        risk=risk.value,
        status=status.value,
        standard_template=template.name if template else None,
        planned_start=data.planned_start,
        planned_end=data.planned_end,
        implementation_plan=data.implementation_plan.strip(),
        backout_plan=data.backout_plan.strip(),
        test_plan=data.test_plan.strip(),
        implementer=data.implementer,
        requester=requester,
        security=data.security,
        created_at=now,
        updated_at=now,
        submission_id=submission_id,
    )
    # One INSERT … ON CONFLICT DO NOTHING, no savepoint: the same form submitted twice at
    # once gets the change the other submission created.
    change, created = inserts.insert_submitted(session, draft)
    if not created:
        return change
    session.add_all([ChangeTarget(change_id=change.id, target=name) for name in change_targets])
    note = f"{change_type.value} change, {risk.value} risk"
    if template is not None:
        note += f"; standard change '{template.name}', pre-approved"
    audit.record(
        session,
        key=change.key,
        actor=requester,
        at=now,
        action="created",
        field="status",
        after=status,
        note=note,
    )
    return change


# ---------------------------------------------------------------------------- moves


def assess(
    session: Session, *, key: str, actor: Actor, now: datetime, note: str | None = None
) -> Change:
    """New → Assessment, for normal changes (emergency changes skip assessment)."""
    change = get(session, key=key, for_update=True)
    LIFECYCLE.permit("assess", change, actor)
    if change.change_type is ChangeType.EMERGENCY:
        raise NotAllowed(
            f"{change.key} is an emergency change: it skips assessment; submit it for approval."
        )
    LIFECYCLE.move(session, change, "assess", actor=actor.user_id, now=now, note=note)
    return change


def check_step(change: Change, action: str, actor: Actor) -> None:
    """Before a form for `action` opens: may this person move the change, and does the
    lifecycle allow it now?"""
    KIND.check_step(change, action, actor)


def schedule(
    session: Session,
    *,
    key: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Change:
    """Approved → Scheduled in a window (the planned one unless a new one is given). A window
    that falls into a freeze is refused, unless an approved emergency change had a freeze
    approver among its approvers."""
    change = get(session, key=key, for_update=True)
    LIFECYCLE.permit("schedule", change, actor)
    LIFECYCLE.check("schedule", change.status, key=change.key)
    start = start or change.planned_start
    end = end or change.planned_end
    _check_window(start, end, now=now, required=True)
    assert start is not None and end is not None  # _check_window refused the others
    change_targets = targets(session, key=change.key)
    freeze = policy.changes.freeze_over(start, end, change_targets)
    if freeze is not None:
        freeze_approved = any(
            "freeze" in row.roles.split(",") and row.decision == Decision.APPROVE.value
            for row in approvals(session, key=change.key)
        )
        if change.change_type is not ChangeType.EMERGENCY or not freeze_approved:
            raise NotAllowed(
                f"That window falls in the change freeze '{user_text(freeze.name)}' and "
                f"{change.key} was "
                "not approved for the freeze. Choose a window outside it."
            )
    before = (change.planned_start, change.planned_end)
    change.planned_start, change.planned_end = start, end
    note = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    LIFECYCLE.move(session, change, "schedule", actor=actor.user_id, now=now, note=note)
    if before != (start, end):
        audit.record(
            session,
            key=change.key,
            actor=actor.user_id,
            at=now,
            action="rescheduled",
            field="window",
            before=_window_text(*before),
            after=note,
        )
    return change


def _window_text(start: datetime | None, end: datetime | None) -> str | None:
    if start is None or end is None:
        return None
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def start_implementation(session: Session, *, key: str, actor: Actor, now: datetime) -> Change:
    """Scheduled → Implementing. A service change only once its acceptance test passed on
    every criterion (services.service_changes)."""
    change = get(session, key=key, for_update=True)
    if change.change_type is ChangeType.SERVICE:
        KIND.check_step(change, "start", actor)
        _service_changes().require_accepted(session, change=change)
    change = KIND.step(session, key=key, action="start", actor=actor, now=now)
    change.implementation_started_at = now
    return change


def complete_implementation(
    session: Session, *, key: str, actor: Actor, now: datetime, note: str | None = None
) -> Change:
    """Implementing → Review (post-implementation review). A service change's service is then
    added to, changed in or retired from the CMDB and the service list."""
    change = KIND.step(session, key=key, action="complete", actor=actor, now=now, note=note)
    change.implemented_at = now
    if change.change_type is ChangeType.SERVICE:
        _service_changes().apply(session, change=change, actor=actor.user_id, now=now)
    return change


def _service_changes() -> Any:
    # services.service_changes imports this module, so it is read when first needed.
    return importlib.import_module("services.service_changes")


def review(
    session: Session,
    *,
    key: str,
    outcome: ReviewOutcome | str,
    note: str,
    actor: Actor,
    now: datetime,
) -> Change:
    """Review → Closed with the outcome (successful, successful with issues, failed, backed
    out) and a note."""
    change = get(session, key=key, for_update=True)
    LIFECYCLE.permit("review", change, actor)
    try:
        result = ReviewOutcome(outcome)
    except ValueError:
        raise FieldError("outcome", "Choose how the change went.") from None
    if not note.strip():
        raise FieldError("note", "Say in a sentence how the change went.")
    summary = f"{result.label}: {note.strip()}"
    LIFECYCLE.move(session, change, "review", actor=actor.user_id, now=now, note=summary)
    change.review_outcome = result.value
    change.review_note = note.strip()
    change.closed_at = now
    return change


def cancel(session: Session, *, key: str, actor: Actor, now: datetime, note: str) -> Change:
    """Any change not yet implementing → Cancelled, with a reason."""
    change = get(session, key=key, for_update=True)
    LIFECYCLE.permit("cancel", change, actor)
    if not note.strip():
        raise FieldError("note", "Say why the change is cancelled.")
    LIFECYCLE.move(session, change, "cancel", actor=actor.user_id, now=now, note=note.strip())
    change.closed_at = now
    return change


def move_to_review_by_release(
    session: Session, *, change: Change, release_key: str, actor: str, now: datetime
) -> None:
    """A deployed release moves each change it bundles to Review (audited on the change). A
    service change must have passed its acceptance test, and its service follows it."""
    if change.change_type is ChangeType.SERVICE:
        _service_changes().require_accepted(session, change=change)
    LIFECYCLE.move(
        session,
        change,
        "release_deployed",
        actor=actor,
        now=now,
        note=f"deployed by {release_key}",
    )
    change.implemented_at = change.implemented_at or now
    if change.change_type is ChangeType.SERVICE:
        _service_changes().apply(session, change=change, actor=actor, now=now)


# Its one channel message: claimed by one poster, released if posting failed, then remembered.
claim_announcement = KIND.claim_announcement
release_announcement = KIND.release_announcement
record_message = KIND.record_message
