"""Approving changes: whom to ask and what it takes (quorum, CAB chair, a freeze approver for
an emergency change inside a freeze), recording each decision once, and the approval requests
posted in Slack."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.change import (
    Change,
    ChangeApproval,
    ChangeApprovalMessage,
    ChangeType,
    Decision,
)
from models.change_policy import FreezeWindow
from models.policy import Policy
from services import audit, rows
from services.changes import (
    LIFECYCLE,
    S,
    _freeze_of,
    _refuse_freeze,
    approvals,
    get,
    parse_key,
    targets,
)
from services.errors import AlreadyDone, FieldError, Forbidden, NotAllowed
from services.permissions import Actor


@dataclass(frozen=True)
class ApprovalRequest:
    """Whom the handler must ask, and what it takes to approve."""

    change: Change
    ask: tuple[str, ...]  # user group or user ids; empty: anyone but the requester may approve
    quorum: int
    chairs_needed: int
    chair_refs: tuple[str, ...]
    freeze: str | None  # the freeze the window falls in (emergency changes only)
    freeze_refs: tuple[str, ...]


@dataclass(frozen=True)
class _Rules:
    base: tuple[str, ...]
    quorum: int
    chairs: int
    chair_refs: tuple[str, ...]
    freeze: FreezeWindow | None
    freeze_refs: tuple[str, ...]
    security_refs: tuple[str, ...] = ()  # a change touching security: one of these approves


def _rules(change: Change, change_targets: list[str], policy: Policy) -> _Rules:
    cp = policy.changes
    quorum = cp.quorum.for_change(change.change_type.approved_as.value, change.risk)
    freeze = _freeze_of(change, change_targets, policy)
    if change.change_type is ChangeType.EMERGENCY:
        base = (*cp.approvers.emergency, *cp.emergency_cab)
    else:
        base = (*cp.approvers.normal, *cp.cab_chair)
    chairs = quorum.chair if cp.cab_chair else 0
    freeze_refs = tuple(cp.freeze_approvers) if freeze is not None else ()
    security_refs = tuple(cp.security_approvers) if change.security else ()
    return _Rules(
        base=tuple(dict.fromkeys(base)),
        quorum=quorum.approvals + (1 if freeze is not None else 0),
        chairs=chairs,
        chair_refs=tuple(cp.cab_chair),
        freeze=freeze,
        freeze_refs=freeze_refs,
        security_refs=security_refs,
    )


def submit_for_approval(
    session: Session, *, key: str, actor: Actor, now: datetime, policy: Policy
) -> ApprovalRequest:
    """Assessment (normal) or New (emergency) → Awaiting approval. Returns whom to ask and the
    quorum. An emergency change inside a freeze needs one more approval, from a freeze approver."""
    change = get(session, key=key, for_update=True)
    LIFECYCLE.permit("submit", change, actor)
    if change.change_type.approved_as is ChangeType.NORMAL and change.state is S.NEW:
        raise NotAllowed(
            f"{change.key} is a {change.change_type.value} change: assess it before asking for "
            "approval."
        )
    if change.planned_start is None or change.planned_end is None:
        raise FieldError("planned_start", "Give the planned window before asking for approval.")
    change_targets = targets(session, key=change.key)
    freeze = _freeze_of(change, change_targets, policy)
    _refuse_freeze(freeze, change.change_type, what=f"{change.key}'s window")
    rules = _rules(change, change_targets, policy)
    note = f"quorum {rules.quorum}"
    if rules.freeze is not None:
        note += f"; inside freeze '{rules.freeze.name}', a freeze approver is needed"
    if rules.security_refs:
        note += "; it touches security, a security approver is needed"
    LIFECYCLE.move(session, change, "submit", actor=actor.user_id, now=now, note=note)
    extra = rules.freeze_refs + rules.security_refs
    ask = rules.base + tuple(dict.fromkeys(r for r in extra if r not in rules.base))
    return ApprovalRequest(
        change=change,
        ask=ask,
        quorum=rules.quorum,
        chairs_needed=rules.chairs,
        chair_refs=rules.chair_refs,
        freeze=rules.freeze.name if rules.freeze else None,
        freeze_refs=rules.freeze_refs,
    )


@dataclass(frozen=True)
class Tally:
    """Where the approval stands after a decision. `counted` is False when the decision was a
    repeat (a second click) and nothing new was recorded."""

    change: Change
    approved_by: tuple[str, ...]
    rejected_by: tuple[str, ...]
    needed_more: int
    outcome: str  # "pending", "approved" or "rejected"
    counted: bool = True


def _tally(
    session: Session, change: Change, rules: _Rules, policy: Policy, *, counted: bool
) -> Tally:
    rows = approvals(session, key=change.key)
    approves = [row for row in rows if row.decision == Decision.APPROVE.value]
    rejects = [row for row in rows if row.decision == Decision.REJECT.value]
    chairs = sum(1 for row in approves if "chair" in row.roles.split(","))
    freezers = sum(1 for row in approves if "freeze" in row.roles.split(","))
    freeze_needed = 1 if rules.freeze_refs else 0
    secured = sum(1 for row in approves if "security" in row.roles.split(","))
    security_needed = 1 if rules.security_refs else 0
    needed_more = max(
        rules.quorum - len(approves),
        rules.chairs - chairs,
        freeze_needed - freezers,
        security_needed - secured,
        0,
    )
    if rejects and (policy.changes.reject_on_first or len(rejects) >= rules.quorum):
        outcome = "rejected"
    elif needed_more == 0:
        outcome = "approved"
    else:
        outcome = "pending"
    return Tally(
        change=change,
        approved_by=tuple(row.approver for row in approves),
        rejected_by=tuple(row.approver for row in rejects),
        needed_more=needed_more,
        outcome=outcome,
        counted=counted,
    )


def _matches(refs: Iterable[str], approver: str, groups: set[str]) -> bool:
    return any(ref == approver or ref in groups for ref in refs)


def _check_decider(change: Change, rules: Any, approver: str, groups: set[str]) -> None:
    if approver == change.requester:
        raise Forbidden(
            f"You requested {change.key}, so you cannot approve it; another approver must."
        )
    eligible = (
        not rules.base
        or _matches(rules.base, approver, groups)
        or _matches(rules.freeze_refs, approver, groups)
        or _matches(rules.security_refs, approver, groups)
    )
    if not eligible:
        raise Forbidden(
            f"You are not an approver for {change.change_type.value} changes (or no longer in "
            f"their approver group), so you cannot decide on {change.key}."
        )


def may_decide(
    session: Session, *, key: str, approver: str, approver_groups: set[str], policy: Policy
) -> Change:
    """Before a Reject form opens: may this person decide on the change now? Raises Forbidden,
    NotAllowed, or AlreadyDone when their decision is already recorded."""
    change = get(session, key=key)
    rules = _rules(change, targets(session, key=change.key), policy)
    previous = session.exec(
        select(ChangeApproval).where(
            ChangeApproval.change_id == change.id, ChangeApproval.approver == approver
        )
    ).first()
    if previous is not None:
        raise AlreadyDone(f"Your decision on {change.key} is already recorded.")
    _check_decider(change, rules, approver, set(approver_groups))
    LIFECYCLE.check("decide", change.status, key=change.key)
    return change


def decide(
    session: Session,
    *,
    key: str,
    approver: str,
    approver_groups: set[str],
    decision: Decision | str,
    reason: str | None,
    now: datetime,
    policy: Policy,
) -> Tally:
    """Record one approver's approve or reject. `approver_groups` are the Slack user groups the
    handler resolved the person into. The requester and non-approvers are refused; a reject
    needs a reason; the same approver twice counts once (returns `counted=False`). When the
    quorum is reached the change is Approved; a rejection rejects it (with `reject_on_first`,
    else once rejections reach the quorum)."""
    change = get(session, key=key, for_update=True)
    change_targets = targets(session, key=change.key)
    rules = _rules(change, change_targets, policy)
    previous = session.exec(
        select(ChangeApproval).where(
            ChangeApproval.change_id == change.id, ChangeApproval.approver == approver
        )
    ).first()
    if previous is not None:
        return _tally(session, change, rules, policy, counted=False)
    _check_decider(change, rules, approver, set(approver_groups))
    groups = set(approver_groups)
    LIFECYCLE.check("decide", change.status, key=change.key)
    try:
        choice = Decision(decision)
    except ValueError:
        raise FieldError("decision", "Choose approve or reject.") from None
    reason = (reason or "").strip() or None
    if choice is Decision.REJECT and reason is None:
        raise FieldError("reason", "Say why you reject the change; the requester will see it.")
    roles = []
    if _matches(rules.chair_refs, approver, groups):
        roles.append("chair")
    if _matches(rules.freeze_refs, approver, groups):
        roles.append("freeze")
    if _matches(rules.security_refs, approver, groups):
        roles.append("security")
    row = ChangeApproval(
        change_id=change.id,
        approver=approver,
        decision=choice.value,
        reason=reason,
        roles=",".join(roles),
        decided_at=now,
    )
    if not rows.add_once(session, row):
        # The same person's other click got in first (e.g. without a row lock): it counts, once.
        return _tally(session, change, rules, policy, counted=False)
    parts = [reason, f"as {' and '.join(roles)}" if roles else None]
    audit.record(
        session,
        key=change.key,
        actor=approver,
        at=now,
        action="approved" if choice is Decision.APPROVE else "rejected",
        field="approval",
        after=choice,
        note="; ".join(part for part in parts if part) or None,
    )
    tally = _tally(session, change, rules, policy, counted=True)
    if tally.outcome == "approved":
        LIFECYCLE.move(session, change, "approve", actor=approver, now=now, note="quorum reached")
    elif tally.outcome == "rejected":
        LIFECYCLE.move(session, change, "reject", actor=approver, now=now, note=reason)
    return tally


# ---------------------------------------------------------------------------- Slack messages


def add_approval_message(session: Session, *, key: str, channel: str, ts: str) -> None:
    """Remember a posted approval request, to update its tally in place."""
    session.add(ChangeApprovalMessage(change_id=parse_key(key), channel=channel, ts=ts))


def approval_messages(session: Session, *, key: str) -> list[tuple[str, str]]:
    """(channel, ts) of every approval request posted for the change."""
    statement = (
        select(ChangeApprovalMessage)
        .where(ChangeApprovalMessage.change_id == parse_key(key))
        .order_by(col(ChangeApprovalMessage.id))
    )
    return [(row.channel, row.ts) for row in session.exec(statement)]


def current_tally(session: Session, *, change: Change, policy: Policy) -> Tally | None:
    """Where the change's approval stands now; None for standard (pre-approved) changes."""
    if change.change_type is ChangeType.STANDARD:
        return None
    rules = _rules(change, targets(session, key=change.key), policy)
    return _tally(session, change, rules, policy, counted=False)
