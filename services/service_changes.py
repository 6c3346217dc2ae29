"""New, changed and removed services (ISO/IEC 20000-1 clause 5): a change of type "service".

It is proposed with the service's requirements, design and acceptance criteria, the agreement,
capacity and budget it needs; it is assessed and approved like a normal change. Before it is
implemented an acceptance test must have passed against every criterion (the latest result of
each counts). When its implementation completes, the CMDB and the service list follow it: a new
service becomes a live service item (marked with the change, so services.service_list offers
it), a changed one is updated, a removed one is retired. Every step is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.change import Change, ChangeInput, ChangeType, Risk
from models.cmdb import CIStatus, CIType, ConfigItem
from models.policy import Policy
from models.service_change import (
    CRITERIA_MAX,
    CRITERION_MAX,
    SERVICE_NAME_MAX,
    AcceptanceResult,
    ServiceAction,
    ServiceChange,
    ServiceChangeInput,
)
from services import audit, changes, cmdb, service_list
from services.due_reminders import form_text
from services.errors import FieldError, NotAllowed
from services.mrkdwn import user_text
from services.permissions import SYSTEM, Actor

NOTE_MAX = 1000
TITLES = {
    ServiceAction.NEW: "New service",
    ServiceAction.CHANGED: "Change to service",
    ServiceAction.REMOVED: "Removal of service",
}


class NotAccepted(NotAllowed):
    """Implementing a service change whose acceptance test has not passed on every criterion."""

    def __str__(self) -> str:
        return f"Refused, because {self.args[0]}"


@dataclass(frozen=True)
class Criterion:
    number: int
    text: str
    passed: bool | None  # the latest result; None before any test
    note: str = ""


# ---------------------------------------------------------------------------- reads


def of(session: Session, *, change: Change) -> ServiceChange | None:
    """The service part of a change (None for a change of another type)."""
    return session.get(ServiceChange, change.id)


def criteria(session: Session, *, change: Change) -> list[Criterion]:
    """Each acceptance criterion with its latest result: one query."""
    detail = of(session, change=change)
    if detail is None:
        return []
    latest: dict[int, AcceptanceResult] = {}
    rows = session.exec(
        select(AcceptanceResult)
        .where(col(AcceptanceResult.change_id) == change.id)
        .order_by(col(AcceptanceResult.id))
    )
    for row in rows:
        latest[row.criterion] = row
    return [
        Criterion(
            n,
            text,
            latest[n].passed if n in latest else None,
            latest[n].note if n in latest else "",
        )
        for n, text in enumerate(detail.criteria_list, start=1)
    ]


# ---------------------------------------------------------------------------- proposing


def _text(value: str, field: str, what: str, *, required: bool) -> str:
    # The form's limit is the one every due-date form has (a test holds the two equal).
    return form_text(value, what=f"the {what}", field=field, required=required)


def _criteria(raw: str) -> list[str]:
    lines = [" ".join(line.split()) for line in (raw or "").splitlines()]
    found = [line for line in lines if line]
    if not found:
        raise FieldError("criteria", "Give at least one acceptance criterion, one per line.")
    if len(found) > CRITERIA_MAX:
        raise FieldError("criteria", f"Give at most {CRITERIA_MAX} criteria.")
    for number, line in enumerate(found, start=1):
        if len(line) > CRITERION_MAX:
            raise FieldError(
                "criteria", f"Criterion {number} is over {CRITERION_MAX} characters; shorten it."
            )
    return found


def _service(
    session: Session, action: ServiceAction, name: str, policy: Policy
) -> tuple[str, str | None]:
    """The service's name as it will be recorded, and its item's team."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        field = "service_name" if action is ServiceAction.NEW else "service"
        raise FieldError(field, "Name the service.")
    if len(cleaned) > SERVICE_NAME_MAX:
        raise FieldError("service_name", f"Keep the name under {SERVICE_NAME_MAX} characters.")
    listed = service_list.find(session, policy=policy, name=cleaned)
    if action is not ServiceAction.NEW:
        if listed is None:
            raise FieldError(
                "service", f"'{user_text(cleaned)}' is not on the service list; choose one that is."
            )
        return listed.name, listed.team
    if listed is not None:
        raise FieldError(
            "service_name", f"There is already a service called '{user_text(listed.name)}'."
        )
    item = cmdb.find_by_name(session, name=cleaned)
    if item is not None and item.type != CIType.SERVICE.value:
        raise FieldError(
            "service_name",
            f"There is already a configuration item called '{user_text(item.name)}' "
            f"({item.type}); choose another name.",
        )
    return cleaned, None


def propose(
    session: Session,
    *,
    data: ServiceChangeInput,
    requester: str,
    now: datetime,
    policy: Policy,
    submission_id: str | None = None,
) -> Change:
    """Log a change of type service (New, to be assessed and approved like a normal change).
    Bad fields raise FieldError naming the field. A second call with the same `submission_id`
    returns the change the first created."""
    if submission_id is not None:
        existing = changes.find_by_submission(session, submission_id=submission_id)
        if existing is not None:
            return existing
    try:
        action = ServiceAction(data.action)
    except ValueError:
        raise FieldError("service_action", "Choose new, changed or removed.") from None
    name, current_team = _service(session, action, data.service, policy)
    team = (data.team or "").strip() or None
    if team is not None and policy.team(team) is None:
        raise FieldError("team", "Choose one of the teams.")
    if action is ServiceAction.NEW and team is None:
        raise FieldError("team", "Choose the team that will run the new service.")
    requirements = _text(data.requirements, "requirements", "requirements", required=True)
    design = _text(data.design, "design", "design", required=True)
    found = _criteria(data.criteria)
    agreement = _text(data.agreement, "agreement", "agreement it needs", required=False)
    capacity = _text(data.capacity, "capacity", "capacity it needs", required=False)
    budget = _text(data.budget, "budget", "budget it needs", required=False)
    if data.risk not in {r.value for r in Risk}:
        raise FieldError("risk", "Choose the risk.")
    change = changes.create(
        session,
        data=ChangeInput(
            title=f"{TITLES[action]}: {name}"[:150],
            type=ChangeType.SERVICE,
            description=data.description,
            risk=Risk(data.risk),
            targets=[name],
            planned_start=data.planned_start,
            planned_end=data.planned_end,
            backout_plan=data.backout_plan,
            implementer=data.implementer,
        ),
        requester=requester,
        now=now,
        policy=policy,
        submission_id=submission_id,
        detailed=True,
    )
    if of(session, change=change) is not None:
        return change  # the same form, delivered twice at once
    session.add(
        ServiceChange(
            change_id=change.id,
            action=action.value,
            service=name,
            team=team if action is not ServiceAction.REMOVED else current_team,
            requirements=requirements,
            design=design,
            criteria="\n".join(found),
            agreement=agreement,
            capacity=capacity,
            budget=budget,
        )
    )
    audit.record(
        session,
        key=change.key,
        actor=requester,
        at=now,
        action="service change proposed",
        field="service",
        after=name,
        note=f"{action.label}; {len(found)} acceptance criteria",
    )
    return change


# ---------------------------------------------------------------------------- acceptance


def record_acceptance(
    session: Session,
    *,
    key: str,
    results: Sequence[tuple[bool | None, str]],
    actor: Actor,
    now: datetime,
    submission_id: str,
) -> list[Criterion]:
    """Record an acceptance test: passed or failed, with a note, for each criterion in order.
    The requester, the implementer or an agent, while the change is Approved or Scheduled.
    The change is locked, so two submissions are recorded one after the other; the same form
    delivered twice records once. Returns the criteria with their latest results."""
    change = changes.get(session, key=key, for_update=True)
    changes.KIND.check_step(change, "accept", actor)
    detail = of(session, change=change)
    if detail is None:
        raise NotAllowed(f"{change.key} is no service change; it has no acceptance criteria.")
    wanted = detail.criteria_list
    if len(results) != len(wanted):
        raise FieldError("criterion_1", "This form is out of date; open it again.")
    for number, (passed, note) in enumerate(results, start=1):
        if passed is None:
            raise FieldError(f"criterion_{number}", f"Say whether criterion {number} passed.")
        if len(note or "") > NOTE_MAX:
            raise FieldError(f"note_{number}", f"Keep the note under {NOTE_MAX:,} characters.")
    repeated = session.exec(
        select(AcceptanceResult.id).where(col(AcceptanceResult.submission_id) == submission_id)
    ).first()
    if repeated is None:
        session.add_all(
            AcceptanceResult(
                change_id=change.id or 0,
                criterion=number,
                passed=bool(passed),
                note=(note or "").strip(),
                recorded_by=actor.user_id,
                recorded_at=now,
                submission_id=submission_id,
            )
            for number, (passed, note) in enumerate(results, start=1)
        )
        failed = [n for n, (passed, _note) in enumerate(results, start=1) if not passed]
        audit.record(
            session,
            key=change.key,
            actor=actor.user_id,
            at=now,
            action="acceptance test",
            field="acceptance",
            after=f"{len(results) - len(failed)} of {len(results)} passed",
            note=("failed: " + ", ".join(str(n) for n in failed)) if failed else "all passed",
        )
        session.flush()
    return criteria(session, change=change)


def require_accepted(session: Session, *, change: Change) -> None:
    """NotAccepted ("Refused, because …") naming every criterion whose latest result is not a
    pass; nothing for a change that is no service change."""
    missing = [c for c in criteria(session, change=change) if c.passed is not True]
    if not missing:
        return
    named = "; ".join(
        f"{c.number}. {user_text(c.text)} ({'failed' if c.passed is False else 'not tested'})"
        for c in missing
    )
    raise NotAccepted(
        f"the acceptance test of {change.key} has not passed on every criterion yet: {named}. "
        "Record an acceptance test that passes them first."
    )


# ---------------------------------------------------------------------------- completion


def apply(session: Session, *, change: Change, actor: str, now: datetime) -> ConfigItem | None:
    """The change's implementation completed: add the service to the CMDB and the service list,
    update it, or retire it. Once per change (later calls do nothing); audited on the change
    and on the item."""
    detail = of(session, change=change)
    if detail is None or detail.applied_at is not None:
        return None
    action = detail.service_action
    item = cmdb.find_by_name(session, name=detail.service)
    if action is ServiceAction.NEW and item is None:
        item = cmdb.create_item(
            session,
            name=detail.service,
            type=CIType.SERVICE,
            team=detail.team,
            actor=SYSTEM,
            now=now,
            attributes={service_list.ADDED_BY: change.key, "description": change.title},
        )
    elif item is not None:  # (a changed or removed service deleted from the CMDB: nothing to do)
        updates: dict[str, object] = {}
        if action is ServiceAction.REMOVED:
            updates["status"] = CIStatus.RETIRED.value
        else:
            updates["status"] = CIStatus.LIVE.value
            if detail.team:
                updates["team"] = detail.team
            if action is ServiceAction.NEW:  # a retired service brought back
                attributes = cmdb.attributes_of(item)
                attributes[service_list.ADDED_BY] = change.key
                updates["attributes"] = attributes
        cmdb.update_item(session, item=item, changes=updates, actor=SYSTEM, now=now)
    verb = {"new": "added", "changed": "changed", "removed": "retired"}[action.value]
    detail.applied_at = now
    detail.item_key = item.key if item is not None else None
    session.add(detail)
    for key in [change.key, *([item.key] if item is not None else [])]:
        audit.record(
            session,
            key=key,
            actor=actor,
            at=now,
            action=f"service {verb}",
            field="service list",
            after=detail.service,
            note=f"{change.key} completed" + (f"; {item.key}" if item is not None else ""),
        )
    return item
