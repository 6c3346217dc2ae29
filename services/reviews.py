"""Post-incident reviews (PIR-n): opened when a major incident is resolved, owned by its
commander, due within `major_incidents.review_within` business days. The review records what
happened, the root cause (linking a problem or raising one), what went well, and follow-up
actions with owners and due dates; actions are reminded when due and listed until done."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from models.incident import Incident
from models.major_incident import (
    ACTION_MAX,
    REVIEW_FIELD_MAX,
    REVIEW_PREFIX,
    MajorIncident,
    PostIncidentReview,
    ReviewAction,
    ReviewStatus,
)
from models.policy import Policy
from models.sla_policy import format_duration
from services import (
    audit,
    incident_sla,
    incident_timeline,
    problems,
    reminders,
    security,
    sla_calendars,
)
from services.errors import FieldError, Forbidden, InvalidInput, NotAllowed, NotFound
from services.lifecycle import Lifecycle
from services.mrkdwn import user_text
from services.permissions import Actor, require_agent_or
from services.records import RecordKind

S = ReviewStatus


def incident_of(session: Session, review: PostIncidentReview) -> Incident:
    return session.exec(
        select(Incident).where(Incident.id == int(review.incident_key.partition("-")[2]))
    ).one()


def may_see(
    session: Session, review: PostIncidentReview, actor: Actor, *, also: set[str] | None = None
) -> bool:
    """A review is seen as its incident is: a restricted incident's review only by the security
    team, the people working the incident and the review's owner (and `also`)."""
    if actor.user_id == review.owner or actor.user_id in (also or set()):
        return True
    return security.may_see(incident_of(session, review), actor)


def require_visible(
    session: Session, review: PostIncidentReview, actor: Actor, *, also: set[str] | None = None
) -> None:
    """Forbidden, naming only the review, unless the person may see it."""
    if not may_see(session, review, actor, also=also):
        raise Forbidden(
            f"{review.key} reviews a restricted incident: only the security team and the "
            "people working it can see or work it."
        )


def hidden(session: Session, found: Sequence[PostIncidentReview], actor: Actor) -> set[str]:
    """Which of these reviews this person may not see (one query for their incidents)."""
    restricted = security.restricted_keys(session, [r.incident_key for r in found])
    return {r.key for r in found if r.incident_key in restricted and not may_see(session, r, actor)}


def check_visible(review: PostIncidentReview, actor: Actor) -> None:
    """`require_visible` for a review read in a session still open."""
    session = object_session(review)
    if session is not None:
        require_visible(session, review, actor)  # type: ignore[arg-type]


def hidden_actions(
    session: Session, found: Sequence[tuple[ReviewAction, str]], actor: Actor
) -> set[str]:
    """Which reviews of these open actions this person may not see (their actions are listed
    without their text)."""
    ids = {action.review_id for action, _ in found}
    if not ids:
        return set()
    owned = session.exec(select(PostIncidentReview).where(col(PostIncidentReview.id).in_(ids)))
    return hidden(session, list(owned), actor)


def shown_outside(review: PostIncidentReview, policy: Policy) -> bool:
    """Is this review's channel message where a restricted incident's details must not be?"""
    return bool(review.channel_id) and review.channel_id != policy.channels.security


def _owner_or_agent(doing: str):  # type: ignore[no-untyped-def]
    def rule(actor: Actor, review: PostIncidentReview) -> None:
        check_visible(review, actor)
        require_agent_or(actor, user_ids={review.owner}, doing=doing, who="the review's owner")

    return rule


LIFECYCLE = Lifecycle(
    "review",
    {
        "record": ([S.OPEN], None),
        "add_action": ([S.OPEN], None),
        "close": ([S.OPEN], S.CLOSED),
    },
    final=[S.CLOSED],
    label=lambda state: ReviewStatus(state).label,
    action_label={"record": "recorded", "add_action": "given actions", "close": "closed"},
    who={"close": _owner_or_agent("close a post-incident review")},
    anyone_else=_owner_or_agent("work on a post-incident review"),
)
KIND = RecordKind(PostIncidentReview, REVIEW_PREFIX, "post-incident review", "PIR-3", LIFECYCLE)


def due_within(policy: Policy, start: datetime) -> datetime:
    """`major_incidents.review_within` business days (of the SLA's business calendar) after
    `start`."""
    calendar = sla_calendars.business_calendar(policy)
    day = datetime.combine(date(2000, 1, 3), calendar.closes) - datetime.combine(
        date(2000, 1, 3), calendar.opens
    )
    return calendar.add_working_time(
        start, policy.major_incidents.review_within * day.total_seconds()
    )


def find_for(session: Session, *, incident_key: str) -> PostIncidentReview | None:
    statement = select(PostIncidentReview).where(PostIncidentReview.incident_key == incident_key)
    return session.exec(statement).first()


def open_for(
    session: Session,
    *,
    incident: Incident,
    major: MajorIncident,
    now: datetime,
    policy: Policy,
) -> PostIncidentReview | None:
    """The review of a resolved major incident, owned by its commander (else its assignee, else
    whoever declared it). None when it already has one (a reopened and re-resolved incident)."""
    if find_for(session, incident_key=incident.key) is not None:
        return None
    owner = major.commander or incident.assignee or major.declared_by
    review = PostIncidentReview(
        incident_key=incident.key,
        owner=owner,
        due_at=due_within(policy, now),
        created_at=now,
        updated_at=now,
        what_happened=draft(session, incident=incident, policy=policy, now=now),
    )
    session.add(review)
    session.flush()
    audit.record(
        session,
        key=review.key,
        actor=owner,
        at=now,
        action="created",
        after=S.OPEN,
        note=f"review of {incident.key}",
    )
    plan_reminders(session, review=review, now=now)
    return review


def draft(session: Session, *, incident: Incident, policy: Policy, now: datetime) -> str:
    """What a new review is prefilled with: the timeline, the impact of the last status update
    and the SLA figures (plain text; the owner edits it in the Record review form)."""
    lines = ["Timeline (UTC):"]
    for moment in incident_timeline.timeline(session, key=incident.key)[-40:]:
        who = f" {moment.subject}" if moment.subject else ""
        lines.append(f"- {moment.at:%d %b %H:%M} {moment.text}{who}{moment.after}")
    update = incident_timeline.latest_update(session, key=incident.key)
    if update is not None:
        lines.append(f"Impact (last status update): {update.impact}")
    sla = incident_sla.evaluate(session, incident=incident, policy=policy, now=now)
    figures = ", ".join(
        f"{name} {'breached' if state.breached else 'met'} ({format_duration(state.elapsed)} "
        f"of {format_duration(state.target)})"
        for name, state in (("response", sla.response), ("resolution", sla.resolution))
    )
    lines.append(f"SLA (P{incident.priority}): {figures}")
    text = "\n".join(lines)
    return text if len(text) <= REVIEW_FIELD_MAX else text[: REVIEW_FIELD_MAX - 1] + "…"


def _text(value: str | None, label: str, field: str) -> str | None:
    value = (value or "").strip()
    if len(value) > REVIEW_FIELD_MAX:
        raise FieldError(
            field, f"Keep {label} under {REVIEW_FIELD_MAX} characters (it has {len(value)})."
        )
    return value or None


def record(
    session: Session,
    *,
    key: str,
    what_happened: str | None,
    root_cause: str | None,
    went_well: str | None,
    problem: str | None,
    raise_problem: bool,
    actor: Actor,
    now: datetime,
) -> tuple[PostIncidentReview, str | None]:
    """Write the review's findings. `problem` links an existing problem (PRB-n); with
    `raise_problem` a new problem is raised from the root cause instead. Returns the review
    and the problem raised, if any."""
    fields = {
        "what_happened": _text(what_happened, "what happened", "what_happened"),
        "root_cause": _text(root_cause, "the root cause", "root_cause"),
        "went_well": _text(went_well, "what went well", "went_well"),
    }
    review = KIND.get(session, key=key, for_update=True)
    KIND.check_step(review, "record", actor)
    raised = None
    problem_key = review.problem_key
    if problem and problem.strip():
        problem_key = problems.get(session, key=problem).key
    elif raise_problem:
        if not fields["root_cause"]:
            raise FieldError("root_cause", "Say what the root cause is to raise a problem from it.")
        incident: Incident = session.exec(
            select(Incident).where(Incident.id == int(review.incident_key.partition("-")[2]))
        ).one()
        created = problems.raise_problem(
            session,
            title=f"Root cause of {incident.key}: {incident.title}"[:150],
            description=fields["root_cause"] or "",
            service=incident.service,
            priority=incident.priority,
            from_incident=incident.key,
            actor=actor,
            now=now,
        )
        problem_key = raised = created.key
    changed = {name: value for name, value in fields.items() if getattr(review, name) != value}
    for name, value in changed.items():
        setattr(review, name, value)
    if problem_key != review.problem_key:
        changed["problem_key"] = problem_key
        review.problem_key = problem_key
    review.updated_at = now
    audit.record(
        session,
        key=review.key,
        actor=actor.user_id,
        at=now,
        action="recorded",
        note=", ".join(name.replace("_", " ") for name in changed) or "nothing changed",
    )
    return review, raised


def add_action(
    session: Session,
    *,
    key: str,
    text: str,
    owner: str | None,
    due: date | None,
    actor: Actor,
    now: datetime,
) -> tuple[PostIncidentReview, ReviewAction]:
    """A follow-up action with its owner and due date (reminded that day at 09:00 UTC)."""
    text = " ".join((text or "").split())
    if not text:
        raise FieldError("action_text", "Say what is to be done.")
    if len(text) > ACTION_MAX:
        raise FieldError("action_text", f"Keep an action under {ACTION_MAX} characters.")
    if not owner or not re.fullmatch(r"[UW][A-Z0-9]{2,31}", owner):
        raise FieldError("action_owner", "Choose who owns the action.")
    if due is None:
        raise FieldError("action_due", "Choose when it is due.")
    if due < now.date():
        raise FieldError("action_due", "The due date has passed; choose today or later.")
    review = KIND.get(session, key=key, for_update=True)
    KIND.check_step(review, "add_action", actor)
    action = ReviewAction(
        review_id=review.id or 0,
        text=text,
        owner=owner,
        due_at=datetime.combine(due, time(9, 0), tzinfo=UTC),
        created_at=now,
    )
    session.add(action)
    session.flush()
    review.updated_at = now
    audit.record(
        session,
        key=review.key,
        actor=actor.user_id,
        at=now,
        action="action_added",
        after=owner,
        note=f"#{action.id} {text} (due {due.isoformat()})",
    )
    plan_reminders(session, review=review, now=now)
    return review, action


def complete_action(
    session: Session, *, action_id: int, actor: Actor, now: datetime
) -> tuple[PostIncidentReview, ReviewAction, bool]:
    """Mark an action done: its owner, the review's owner or an agent. Twice counts once."""
    action = session.exec(
        select(ReviewAction).where(ReviewAction.id == action_id).with_for_update()
    ).first()
    if action is None:
        raise NotFound("There is no such follow-up action.")
    review = session.exec(
        select(PostIncidentReview).where(PostIncidentReview.id == action.review_id)
    ).one()
    require_visible(session, review, actor, also={action.owner})
    require_agent_or(
        actor,
        user_ids={action.owner, review.owner},
        doing="complete a follow-up action",
        who="the action's owner, the review's owner",
    )
    if action.done_at is not None:
        return review, action, False
    action.done_at, action.done_by = now, actor.user_id
    session.add(action)
    audit.record(
        session,
        key=review.key,
        actor=actor.user_id,
        at=now,
        action="action_done",
        note=f"#{action.id} {action.text}",
    )
    plan_reminders(session, review=review, now=now)
    return review, action, True


def close(session: Session, *, key: str, actor: Actor, now: datetime) -> PostIncidentReview:
    """Open → Closed, once what happened and the root cause are recorded. Open actions stay
    listed and reminded until done."""
    review = KIND.get(session, key=key, for_update=True)
    KIND.check_step(review, "close", actor)
    missing = [
        label
        for label, value in (
            ("what happened", review.what_happened),
            ("the root cause", review.root_cause),
        )
        if not value
    ]
    if missing:
        raise NotAllowed(
            f"{review.key} cannot be closed yet: record {' and '.join(missing)} first "
            "(Record review)."
        )
    LIFECYCLE.move(session, review, "close", actor=actor, now=now)
    review.closed_at = now
    plan_reminders(session, review=review, now=now)
    return review


def actions_of(session: Session, *, review_id: int) -> list[ReviewAction]:
    statement = (
        select(ReviewAction)
        .where(ReviewAction.review_id == review_id)
        .order_by(col(ReviewAction.due_at), col(ReviewAction.id))
    )
    return list(session.exec(statement))


def open_actions(session: Session, *, limit: int = 50) -> list[tuple[ReviewAction, str]]:
    """Follow-up actions not done yet, soonest due first, with their review's key."""
    statement = (
        select(ReviewAction)
        .where(col(ReviewAction.done_at).is_(None))
        .order_by(col(ReviewAction.due_at), col(ReviewAction.id))
        .limit(limit)
    )
    return [(action, f"{REVIEW_PREFIX}-{action.review_id}") for action in session.exec(statement)]


def list_open(session: Session, *, limit: int = 25) -> list[PostIncidentReview]:
    statement = (
        select(PostIncidentReview)
        .where(PostIncidentReview.status == S.OPEN.value)
        .order_by(col(PostIncidentReview.due_at), col(PostIncidentReview.id))
        .limit(limit)
    )
    return list(session.exec(statement))


def action_id(raw: object) -> int:
    """A follow-up action's id from a button value; InvalidInput for anything else."""
    text = str(raw or "")
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise InvalidInput("That button is from an old message.")
    return int(text)


def plan_reminders(session: Session, *, review: PostIncidentReview, now: datetime) -> None:
    """The owner is reminded when the review falls due (while open); each action's owner when
    the action does (until done)."""
    plan: list[reminders.Planned] = []
    texts: dict[str, str] = {}
    if review.status == S.OPEN.value:
        plan.append(reminders.Planned("review-due", review.due_at, review.owner))
        texts["review-due"] = (
            f":memo: {review.key}, the review of {review.incident_key}, is due now. "
            f"Use `/pir show {review.key}`."
        )
    for action in actions_of(session, review_id=review.id or 0):
        if action.done_at is None:
            stage = f"action-{action.id}"
            plan.append(reminders.Planned(stage, action.due_at, action.owner))
            texts[stage] = (
                f":pushpin: Follow-up action #{action.id} of {review.key} is due: "
                f"{user_text(action.text)}. `/pir actions` lists it until it is done."
            )
    reminders.sync(
        session,
        record_key=review.key,
        plan=plan,
        text=lambda planned: texts[planned.stage],
        now=now,
    )
