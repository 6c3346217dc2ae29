"""Service requests from the catalog: submit a form, approve or reject, fulfil, close."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlmodel import Session, col, select

from models.policy import Policy
from models.request_policy import FieldKind
from models.service_request import (
    KEY_PREFIX,
    OPEN_STATUSES,
    RequestApproval,
    RequestStatus,
    ServiceRequest,
)
from services import agreements, audit, inserts, rows, sla_timers
from services.errors import AlreadyDone, Forbidden, InvalidInput
from services.lifecycle import Lifecycle
from services.mrkdwn import group_mention, mention
from services.permissions import (
    Actor,
    MembersOf,
    require_fulfiller,
    require_requester_or_agent,
)
from services.records import RecordKind

S = RequestStatus
LIFECYCLE = Lifecycle(
    "request",
    {
        "decide": ([S.AWAITING_APPROVAL], None),
        "start": ([S.APPROVED], S.IN_FULFILMENT),
        "fulfil": ([S.IN_FULFILMENT], S.FULFILLED),
        "close": ([S.FULFILLED], S.CLOSED),
        "cancel": ([S.SUBMITTED, S.AWAITING_APPROVAL, S.APPROVED, S.IN_FULFILMENT], S.CANCELLED),
    },
    final=[S.REJECTED, S.CLOSED, S.CANCELLED],
    label=lambda state: RequestStatus(state).label,
    action_label={
        "decide": "approved or rejected",
        "start": "started",
        "fulfil": "fulfilled",
        "close": "closed",
        "cancel": "cancelled",
    },
)


@dataclass(frozen=True)
class Notify:
    """Whom the handler tells: users to DM, approvers (user or group) to ask, a team to alert."""

    request: ServiceRequest
    dm: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()
    team: str | None = None


KIND = RecordKind(ServiceRequest, KEY_PREFIX, "request", "REQ-3")
# Reading by key comes from the kind.
parse_key, get = KIND.parse_key, KIND.get


def _validate(item: Any, answers: dict[str, Any]) -> dict[str, str]:
    unknown = set(answers) - {f.name for f in item.fields}
    if unknown:
        raise InvalidInput(f"The form has no field '{sorted(unknown)[0]}'.")
    clean: dict[str, str] = {}
    for form_field in item.fields:
        value = answers.get(form_field.name)
        value = "" if value is None else str(value).strip()
        if not value:
            if form_field.required:
                raise InvalidInput(f"{form_field.label} is required.")
            continue
        if form_field.kind is FieldKind.SELECT and value not in form_field.options:
            raise InvalidInput(
                f"{form_field.label}: choose one of {', '.join(form_field.options)}."
            )
        if form_field.kind is FieldKind.USER and not value.startswith(("U", "W")):
            raise InvalidInput(f"{form_field.label}: choose a person.")
        if form_field.kind is FieldKind.DATE:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise InvalidInput(f"{form_field.label}: give a date like 2026-12-01.") from None
        if form_field.kind is FieldKind.TEXT and len(value) > 500:
            raise InvalidInput(f"{form_field.label}: keep it under 500 characters.")
        clean[form_field.name] = value
    return clean


def submit(
    session: Session,
    *,
    item_id: str,
    answers: dict[str, Any],
    requester: str,
    now: datetime,
    policy: Policy,
    submission_id: str | None = None,
) -> tuple[Notify, bool]:
    """Raise a request from the catalog item's form. Idempotent on `submission_id` (returns the
    first request and False). Goes to Awaiting approval when the item needs one."""
    item = policy.catalog.item(item_id)
    if item is None:
        raise InvalidInput(f"'{item_id}' is not in the request catalog.")
    clean = _validate(item, answers)
    approver, is_group = None, False
    if item.manager_field:
        approver = clean[item.manager_field]
        if approver == requester:
            raise InvalidInput("Name your manager, not yourself, as the approver.")
    elif item.needs_approval:
        approver, is_group = item.approval, True
    status = S.AWAITING_APPROVAL if approver else S.APPROVED
    service = policy.service(item.service)
    service_name = service.name if service is not None else None
    targets = agreements.effective_request_targets(
        policy, service_name, response=item.response_target, fulfilment=item.fulfilment_target
    )
    draft = ServiceRequest(
        item_id=item.id,
        title=item.name,
        requester=requester,
        answers=json.dumps(clean),
        status=status.value,
        approver=approver,
        approver_is_group=is_group,
        fulfilment_team=item.fulfilment_team,
        service=service_name,
        agreement=targets.agreement,
        response_target_s=int(targets.response.total_seconds()),
        fulfilment_target_s=int(targets.fulfilment.total_seconds()),
        submitted_at=now,
        updated_at=now,
        submission_id=submission_id,
    )
    # One INSERT … ON CONFLICT DO NOTHING: a form delivered twice returns the first request.
    request, created = inserts.insert_submitted(session, draft)
    if not created:
        return Notify(request), False
    audit.record(session, key=request.key, actor=requester, at=now, action="created", after=status)
    sla_timers.start_request_timers(session, request=request, now=now, policy=policy)
    if approver:
        return Notify(request, dm=(requester,), approvers=(approver,)), True
    return Notify(request, dm=(requester,), team=request.fulfilment_team), True


def _check_decider(
    session: Session, request: ServiceRequest, approver: str, members_of: MembersOf
) -> None:
    if session.exec(
        select(RequestApproval).where(
            RequestApproval.request_id == request.id, RequestApproval.approver == approver
        )
    ).first():
        raise AlreadyDone(f"You already decided on {request.key}.")
    LIFECYCLE.check("decide", request.status, key=request.key)
    if approver == request.requester:
        raise Forbidden("You cannot approve your own request.")
    if request.approver_is_group and request.approver:
        # The same directory (and cache) that chose whom to ask: whoever was asked may decide,
        # unless they have left the group since.
        if approver not in members_of(request.approver):
            raise Forbidden(
                f"Only members of {group_mention(request.approver)} can decide on {request.key}, "
                "and you are not (or no longer) one of them."
            )
    elif approver != request.approver:
        raise Forbidden(f"Only {mention(request.approver)} can decide on {request.key}.")


def may_decide(
    session: Session, *, key: str, approver: str, members_of: MembersOf
) -> ServiceRequest:
    """Before a Reject form opens: may this person decide on the request now?"""
    request = get(session, key=key)
    _check_decider(session, request, approver, members_of)
    return request


def decide(
    session: Session,
    *,
    key: str,
    approver: str,
    members_of: MembersOf,
    approve: bool,
    now: datetime,
    reason: str | None = None,
    policy: Policy | None = None,
) -> Notify:
    """An approver's decision. The approver must be in the item's group (read through
    `members_of`, the directory that chose whom to ask) or be the named manager, never the
    requester; a rejection needs a reason; a second click counts once.
    With `policy`, the SLA timers are moved on at once (the approval wait was a pause)."""
    request = get(session, key=key, for_update=True)
    _check_decider(session, request, approver, members_of)
    if not approve and not (reason or "").strip():
        raise InvalidInput("Say why the request is rejected; the requester will see it.")
    decision = RequestApproval(
        request_id=request.id,
        approver=approver,
        approved=approve,
        reason=(reason or "").strip() or None,
        at=now,
    )
    if not rows.add_once(session, decision):
        raise AlreadyDone(f"You already decided on {request.key}.")
    after = S.APPROVED if approve else S.REJECTED
    audit.record(
        session,
        key=request.key,
        actor=approver,
        at=now,
        action="approved" if approve else "rejected",
        field="status",
        before=request.status,
        after=after,
        note=(reason or "").strip() or None,
    )
    request.status = after.value
    request.decided_at, request.decided_by = now, approver
    request.decision_reason = (reason or "").strip() or None
    request.updated_at = now
    if policy is not None:
        sla_timers.refresh_request(session, request=request, now=now, policy=policy)
    if approve:
        return Notify(request, dm=(request.requester,), team=request.fulfilment_team)
    return Notify(request, dm=(request.requester,))


def fulfilment_team_refs(request: ServiceRequest, policy: Policy) -> list[str]:
    """Who works a request: its fulfilment team's on-call and lead (users or user groups)."""
    team = policy.team(request.fulfilment_team)
    return [ref for ref in (team.on_call, team.lead) if ref] if team else []


def check_fulfiller(
    request: ServiceRequest, *, actor: Actor, policy: Policy, members_of: MembersOf
) -> None:
    """Only the fulfilment team's people (its on-call and lead) or agents start, fulfil and
    close a request."""
    require_fulfiller(
        actor,
        team=request.fulfilment_team,
        refs=fulfilment_team_refs(request, policy),
        members_of=members_of,
        key=request.key,
    )


def _fulfilment_move(
    session: Session,
    key: str,
    action: str,
    *,
    actor: Actor,
    now: datetime,
    policy: Policy,
    members_of: MembersOf,
    note: str | None = None,
) -> ServiceRequest:
    request = get(session, key=key, for_update=True)
    check_fulfiller(request, actor=actor, policy=policy, members_of=members_of)
    LIFECYCLE.move(session, request, action, actor=actor.user_id, now=now, note=note)
    return request


def start_fulfilment(
    session: Session,
    *,
    key: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
    members_of: MembersOf,
) -> Notify:
    """Approved → In fulfilment; the actor (of the fulfilment team, or an agent) becomes the
    assignee."""
    request = _fulfilment_move(
        session, key, "start", actor=actor, now=now, policy=policy, members_of=members_of
    )
    request.started_at, request.assignee = now, actor.user_id
    return Notify(request, dm=(request.requester,))


def fulfil(
    session: Session,
    *,
    key: str,
    note: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
    members_of: MembersOf,
) -> Notify:
    """In fulfilment → Fulfilled, with a note for the requester. Stops the SLA clock."""
    if not note.strip():
        raise InvalidInput("Say in a sentence what was done.")
    request = _fulfilment_move(
        session,
        key,
        "fulfil",
        actor=actor,
        now=now,
        policy=policy,
        members_of=members_of,
        note=note.strip(),
    )
    request.fulfilled_at, request.fulfilment_note = now, note.strip()
    return Notify(request, dm=(request.requester,))


def close(
    session: Session,
    *,
    key: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
    members_of: MembersOf,
) -> Notify:
    """Fulfilled → Closed, by the fulfilment team or an agent."""
    request = _fulfilment_move(
        session, key, "close", actor=actor, now=now, policy=policy, members_of=members_of
    )
    request.closed_at = now
    return Notify(request, dm=(request.requester,))


def cancel(session: Session, *, key: str, actor: Actor, now: datetime, note: str = "") -> Notify:
    """An open request → Cancelled (by the requester, or an agent with a reason)."""
    request = get(session, key=key, for_update=True)
    require_requester_or_agent(actor, requester=request.requester, doing="cancel a request")
    if actor.user_id != request.requester and not note.strip():
        raise InvalidInput("Say why the request is cancelled; the requester will see it.")
    LIFECYCLE.move(
        session, request, "cancel", actor=actor.user_id, now=now, note=note.strip() or None
    )
    request.closed_at = now
    dm = (request.requester,) if actor.user_id != request.requester else ()
    return Notify(request, dm=dm)


def list_requests(
    session: Session,
    *,
    requester: str | None = None,
    team: str | None = None,
    open_only: bool = True,
    limit: int = 25,
) -> list[ServiceRequest]:
    """Requests, newest first, optionally one person's or one fulfilment team's."""
    statement = select(ServiceRequest)
    if open_only:
        statement = statement.where(
            col(ServiceRequest.status).in_([s.value for s in OPEN_STATUSES])
        )
    if requester is not None:
        statement = statement.where(ServiceRequest.requester == requester)
    if team is not None:
        statement = statement.where(ServiceRequest.fulfilment_team == team)
    return list(session.exec(statement.order_by(col(ServiceRequest.id).desc()).limit(limit)))


class SlaInputs(NamedTuple):
    start: datetime
    target: timedelta
    pauses: list[tuple[datetime, datetime | None]]


def sla_inputs(request: ServiceRequest) -> SlaInputs:
    """What the SLA sweep needs, as for incidents: the clock starts at submission, aims at the
    fulfilment target and stands still while the request awaits approval. It stops at
    `request.fulfilled_at`."""
    pauses: list[tuple[datetime, datetime | None]] = []
    if request.approver:
        pauses.append((request.submitted_at, request.decided_at))
    return SlaInputs(request.submitted_at, timedelta(seconds=request.fulfilment_target_s), pauses)


def answers_of(request: ServiceRequest) -> dict[str, str]:
    return json.loads(request.answers)
