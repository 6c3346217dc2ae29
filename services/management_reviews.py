"""Management reviews (MR-n) on a cadence (`[sms.management_review]`: owner, every, first,
remind_before). The sweep keeps one review planned: when none is, it creates the next, one
cadence after the last one's date (or on `first`). Its owner is reminded through the outbox
with the inputs the bot prepares (services.review_inputs) and records the review: the date
held, attendees, decisions and up to three actions, each with an owner and a due date,
reminded when due (services.due_reminders) and listed until done."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from models.agreement_policy import advance_review
from models.management_review import (
    ACTION_MAX,
    ACTIONS_MAX,
    ManagementReview,
    ManagementReviewAction,
    ReviewStatus,
)
from models.management_review_policy import ManagementReviewPlan
from models.policy import Policy
from services import audit, cadence, due_reminders, reminders, review_common, review_inputs
from services.due_reminders import form_text
from services.errors import AlreadyDone, FieldError, Forbidden
from services.lifecycle import Lifecycle, admins_cancel
from services.mrkdwn import is_user_id, mention, user_text
from services.permissions import Actor
from services.records import RecordKind
from services.reports.period import Period

S = ReviewStatus
SYSTEM_ACTOR = cadence.SYSTEM_ACTOR
# Reminders carry the inputs as they are when sent, so each is queued only this close to its
# time (the sweep runs every 30 s); one whose time passed while the bot was down is not sent.
PREPARE_AHEAD = timedelta(minutes=10)
PAST_LIMIT = 10
RECORD_ACTION = "mr_record"


def _owner_or_admin(actor: Actor, record: Any) -> None:
    if actor.is_admin or actor.user_id == record.owner:
        return
    raise Forbidden(f"Only {record.key}'s owner ({mention(record.owner)}) or an admin can do that.")


LIFECYCLE = Lifecycle(
    "management_review",
    {"record": ([S.PLANNED], S.HELD), "cancel": ([S.PLANNED], S.CANCELLED)},
    final=[S.HELD, S.CANCELLED],
    label=lambda state: ReviewStatus(state).label,
    action_label={"record": "recorded", "cancel": "cancelled"},
    who={"record": _owner_or_admin, "cancel": admins_cancel},
)

KIND = RecordKind(ManagementReview, "MR", "management review", "MR-2", LIFECYCLE)


def check_step(record: ManagementReview, action: str, actor: Actor) -> None:
    KIND.check_step(record, action, actor)


# ---- the plan: one review planned, reminded with its inputs ---------------------------------


def planned(session: Session) -> ManagementReview | None:
    """The review planned now (there is at most one)."""
    return session.exec(
        select(ManagementReview)
        .where(col(ManagementReview.status) == S.PLANNED.value)
        .order_by(col(ManagementReview.planned_on))
    ).first()


def past(session: Session, *, limit: int = PAST_LIMIT) -> list[ManagementReview]:
    """Reviews held or cancelled, the latest first."""
    return list(
        session.exec(
            select(ManagementReview)
            .where(col(ManagementReview.status) != S.PLANNED.value)
            .order_by(col(ManagementReview.planned_on).desc())
            .limit(limit)
        )
    )


def period_for(session: Session, *, policy: Policy, now: datetime) -> Period:
    """What the inputs cover: since the last review held (its date), else one cadence back."""
    last = session.exec(
        select(ManagementReview.held_on)
        .where(col(ManagementReview.status) == S.HELD.value)
        .order_by(col(ManagementReview.held_on).desc())
        .limit(1)
    ).first()
    if last is None:
        plan = policy.sms.management_review
        every = plan.every if plan else "half-yearly"
        today = now.date()
        last = today - (advance_review(today, every) - today)
    start = datetime.combine(last, time(0), tzinfo=UTC)
    return review_inputs.period_ending(now, min(start, now - timedelta(days=1)))


def inputs(session: Session, *, policy: Policy, now: datetime) -> tuple[Period, list[Any]]:
    """The review's inputs as the bot prepares them now."""
    period = period_for(session, policy=policy, now=now)
    return period, review_inputs.prepare(session, policy=policy, period=period)


def _schedule(plan: ManagementReviewPlan, record: ManagementReview) -> list[reminders.Planned]:
    return cadence.reminders_for(
        record.planned_on, stage="review", remind_before=plan.remind_before, who=record.owner
    )


def reminder_text(record: ManagementReview, stage: str, prepared: list[Any], period: Period) -> str:
    when = (
        f"was due on {record.planned_on:%a %d %b %Y} and is not recorded yet"
        if stage.startswith("overdue")
        else f"is due on {record.planned_on:%a %d %b %Y}"
    )
    lines = [
        f":bar_chart: The management review {record.key} {when}. Its inputs, prepared by the "
        f"bot ({period.start:%d %b %Y} to {period.end:%d %b %Y}):"
    ]
    for found in prepared:
        lines.append(f"*{user_text(found.title)}*")
        lines += [f"• {user_text(line)}" for line in found.lines]
    lines.append("Hold it, then press *Record review*.")
    return "\n".join(lines)


def _remind(
    session: Session,
    record: ManagementReview,
    plan: ManagementReviewPlan | None,
    now: datetime,
    policy: Policy,
) -> list[str]:
    """Queue the reminders whose time has (nearly) come, each with the inputs as they are
    now; none once the review is recorded or cancelled."""
    wanted = []
    if plan is not None and record.state is S.PLANNED:
        wanted = [p for p in _schedule(plan, record) if p.due_at <= now + PREPARE_AHEAD]
    due = [p for p in wanted if p.due_at > now - reminders.STALE_AFTER]
    if not due and wanted:
        return []  # what is due was queued (or missed) already; nothing to prepare
    cache: dict[str, str] = {}

    def text(p: reminders.Planned) -> str:
        if "text" not in cache:
            period, prepared = inputs(session, policy=policy, now=now)
            cache["text"] = reminder_text(record, p.stage, prepared, period)
        return cache["text"]

    def blocks(_p: reminders.Planned, message: str) -> list[dict[str, Any]]:
        from models.carried import RecordRef

        button = review_common.record_review_button(RECORD_ACTION, RecordRef(key=record.key).dump())
        chunks = [message[i : i + 2900] for i in range(0, len(message), 2900)][:20]
        return [
            *({"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in chunks),
            {"type": "actions", "block_id": f"mr_remind|{record.key}", "elements": [button]},
        ]

    return reminders.sync(
        session, record_key=record.key, plan=wanted, text=text, blocks=blocks, now=now
    )


def sweep(session: Session, *, now: datetime, policy: Policy) -> list[str]:
    """Keep one review planned (creating the next when none is) and queue its reminders as
    they fall due. Returns the keys created. Without `[sms.management_review]` it reads
    nothing."""
    plan = policy.sms.management_review
    if plan is None:
        return []
    created = []
    record = planned(session)
    if record is None:
        last = session.exec(
            select(ManagementReview.planned_on).order_by(col(ManagementReview.planned_on).desc())
        ).first()
        on = plan.next_date(last, now.date())
        record = ManagementReview(
            owner=plan.owner,
            planned_on=on,
            created_by=SYSTEM_ACTOR,
            created_at=now,
            updated_at=now,
        )
        note = f"due {on.isoformat()}, owner {plan.owner}"
        if not cadence.add_planned(session, record, now=now, after=S.PLANNED, note=note):
            return []  # another instance planned it first
        created.append(record.key)
    _remind(session, record, plan, now, policy)
    return created


# ---- recording it ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreedAction:
    text: str | None
    owner: str | None
    due_on: date | str | None


def _actions(agreed: list[AgreedAction], now: datetime) -> list[tuple[str, str, date]]:
    out = []
    for n, action in enumerate(agreed[:ACTIONS_MAX], start=1):
        text = " ".join((action.text or "").split())
        if not text and not action.owner and not action.due_on:
            continue
        if not text:
            raise FieldError(f"action_{n}", "Say what is to be done.")
        if len(text) > ACTION_MAX:
            raise FieldError(f"action_{n}", f"Keep an action under {ACTION_MAX} characters.")
        if not is_user_id(action.owner):
            raise FieldError(f"action_{n}_owner", "Choose who owns this action.")
        due = due_reminders.parse_due(action.due_on, now, field=f"action_{n}_due")
        out.append((text, action.owner or "", due))
    return out


def record(
    session: Session,
    *,
    key: str,
    held_on: date | str | None,
    attendees: list[str] | None,
    decisions: str | None,
    actions: list[AgreedAction],
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> ManagementReview:
    """Planned → Held by its owner (or an admin): the date, attendees, decisions and actions;
    the inputs as prepared now are kept with it. A second submission finds it held."""
    found = KIND.get(session, key=key, for_update=True)
    check_step(found, "record", actor)
    held = review_common.held_on(held_on, now)
    text = form_text(decisions, what="the decisions taken", field="decisions")
    agreed = _actions(actions, now)
    people = [p for p in dict.fromkeys(attendees or []) if is_user_id(p)][:50]
    period, prepared = inputs(session, policy=policy, now=now)
    LIFECYCLE.move(session, found, "record", actor=actor, now=now, note=text)
    found.held_on, found.attendees, found.decisions = held, json.dumps(people), text
    found.inputs = review_inputs.as_text(prepared)
    found.recorded_by, found.recorded_at = actor.user_id, now
    session.add(found)
    rows = [
        ManagementReviewAction(review_id=found.id or 0, text=t, owner=o, due_on=d)
        for t, o, d in agreed
    ]
    session.add_all(rows)
    session.flush()
    for row in rows:
        audit.record(
            session,
            key=found.key,
            actor=actor.user_id,
            at=now,
            action="action agreed",
            after=row.key,
            note=f"{row.text} (owner {row.owner}, due {row.due_on.isoformat()})",
        )
        due_reminders.plan(
            session,
            key=row.key,
            owner=row.owner,
            due_on=row.due_on,
            what=f"{row.key}, agreed at the management review {found.key} ({user_text(row.text)})",
            now=now,
        )
    _remind(session, found, None, now, policy)
    return found


def cancel(session: Session, *, key: str, actor: Actor, now: datetime) -> ManagementReview:
    """Planned → Cancelled by an admin; its reminders are withdrawn and the sweep plans the
    next one."""
    found = KIND.step(session, key=key, action="cancel", actor=actor, now=now)
    reminders.sync(session, record_key=found.key, plan=[], text=lambda _p: "", now=now)
    return found


def actions_of(
    session: Session, *, review_ids: list[int], open_only: bool = False
) -> list[ManagementReviewAction]:
    """The actions of these reviews (or only those not done), by due date."""
    if not review_ids:
        return []
    statement = select(ManagementReviewAction).where(
        col(ManagementReviewAction.review_id).in_(review_ids)
    )
    if open_only:
        statement = statement.where(col(ManagementReviewAction.done_at).is_(None))
    return list(
        session.exec(
            statement.order_by(col(ManagementReviewAction.due_on), col(ManagementReviewAction.id))
        )
    )


def open_actions(session: Session) -> list[ManagementReviewAction]:
    """Every action agreed at a review and not done yet, the earliest due first."""
    return list(
        session.exec(
            select(ManagementReviewAction)
            .where(col(ManagementReviewAction.done_at).is_(None))
            .order_by(col(ManagementReviewAction.due_on), col(ManagementReviewAction.id))
            .limit(50)
        )
    )


def complete_action(
    session: Session, *, action_id: int, actor: Actor, now: datetime
) -> tuple[ManagementReviewAction, ManagementReview]:
    """An agreed action done: its owner, the review's owner or an admin; once (the row is
    locked, a second click is told who did it). Its reminders are withdrawn."""
    action = review_common.locked_action(session, ManagementReviewAction, action_id)
    review = session.get(ManagementReview, action.review_id)
    assert review is not None
    if not (actor.is_admin or actor.user_id in (action.owner, review.owner)):
        raise Forbidden(
            f"Only {action.key}'s owner ({mention(action.owner)}), the review's owner or an "
            "admin can mark it done."
        )
    if action.done_at is not None:
        raise AlreadyDone(f"{action.key} was already done by {mention(action.done_by)}.")
    action.done_at, action.done_by = now, actor.user_id
    session.add(action)
    review.updated_at = now  # its message lists the action: refresh it
    session.add(review)
    due_reminders.plan(session, key=action.key, owner=None, due_on=None, what="", now=now)
    audit.record(
        session,
        key=review.key,
        actor=actor.user_id,
        at=now,
        action="action done",
        after=action.key,
        note=action.text,
    )
    return action, review
