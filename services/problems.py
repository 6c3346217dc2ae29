"""Problems and known errors: investigate the cause behind incidents, record the workaround,
resolve by a change; and spot repeated incidents that suggest a problem."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, cast, exists, literal
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, or_, select

from models.cmdb import CIType
from models.incident import KEY_PREFIX as INCIDENT_KEY_PREFIX
from models.incident import OPEN_STATUSES as INCIDENT_OPEN
from models.incident import Incident
from models.links import RecordLink
from models.policy import Policy
from models.problem import KEY_PREFIX, OPEN_STATUSES, Problem, ProblemStatus, TrendProposal
from services import cmdb, inserts, links, rows
from services.errors import InvalidInput, NotFound
from services.lifecycle import Lifecycle, agents
from services.permissions import Actor, require_agent
from services.records import RecordKind

S = ProblemStatus
INCIDENT_LINK = "problem"

LIFECYCLE = Lifecycle(
    "problem",
    {
        "investigate": ([S.NEW], S.INVESTIGATING),
        "known_error": ([S.NEW, S.INVESTIGATING], S.KNOWN_ERROR),
        "resolve": ([S.NEW, S.INVESTIGATING, S.KNOWN_ERROR], S.RESOLVED),
        "close": ([S.RESOLVED], S.CLOSED),
        "link": ([S.NEW, S.INVESTIGATING, S.KNOWN_ERROR], None),
    },
    final=[S.CLOSED],
    label=lambda state: ProblemStatus(state).label,
    action_label={
        "investigate": "investigated",
        "known_error": "recorded as a known error",
        "resolve": "resolved",
        "close": "closed",
        "link": "linked to incidents",
    },
    # Each service function first says what the person tried ("resolve problems"); the
    # table's rule is what the check before a form opens says.
    anyone_else=agents("work on problems"),
)


KIND = RecordKind(Problem, KEY_PREFIX, "problem", "PRB-4", LIFECYCLE)
# Reading by key and the announce sweep's list come from the kind.
parse_key, unannounced, get = KIND.parse_key, KIND.unannounced, KIND.get


def raise_problem(
    session: Session,
    *,
    title: str,
    actor: Actor,
    now: datetime,
    description: str = "",
    service: str | None = None,
    item: str | None = None,
    priority: int = 3,
    from_incident: str | None = None,
    submission_id: str | None = None,
) -> Problem:
    """Open a problem on a service or configuration item; linked to `from_incident` if given.
    A second call with the same `submission_id` returns the first problem."""
    require_agent(actor, doing="raise problems")
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("Give the problem a short title.")
    if not 1 <= priority <= 5:
        raise InvalidInput("Priority runs from P1 to P5.")
    item_key = cmdb.resolve(session, ref=item).key if item else None
    draft = Problem(
        title=title[:150],
        description=description.strip(),
        service=service,
        item_key=item_key,
        priority=priority,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        submission_id=submission_id,
    )
    # One INSERT … ON CONFLICT DO NOTHING: a form delivered twice returns the first problem.
    problem, created = inserts.insert_submitted(session, draft)
    if not created:
        return problem
    KIND.created(session, problem, actor=actor, now=now)
    if from_incident:
        link_incident(session, key=problem.key, incident=from_incident, actor=actor, now=now)
    return problem


def target_of(
    session: Session, *, chosen: str | None, policy: Policy
) -> tuple[str | None, str | None]:
    """The New problem form's type-ahead choice → (service, item key): a service item (or a
    service the policy names) is the service, any other item is the item. NotFound for a
    choice that is neither."""
    service, item = cmdb.chosen(session, ref=chosen, policy=policy)
    if item is None:
        return service, None
    if item.type == CIType.SERVICE.value:
        return item.name, None
    return None, item.key


def may_raise(actor: Actor) -> None:
    """Before the New problem form opens: only agents raise problems (raise_problem checks
    again when the form comes back)."""
    require_agent(actor, doing="raise problems")


def check_step(problem: Problem, action: str, actor: Actor) -> None:
    """Before a form for `action` opens: only agents work problems, and the lifecycle must
    allow it now."""
    KIND.check_step(problem, action, actor)


def _incident_key(session: Session, incident: str, actor: Actor | None = None) -> str:
    """The incident's key; with `actor`, only when they may see it (a restricted incident)."""
    from services import incidents, security

    found = incidents.get(session, key=incident)
    if actor is not None:
        security.require_visible(found, actor)
    return found.key


def link_incident(
    session: Session, *, key: str, incident: str, actor: Actor, now: datetime
) -> bool:
    """Link an incident to the problem. False when already linked."""
    require_agent(actor, doing="link incidents to problems")
    problem = get(session, key=key, for_update=True)
    check_step(problem, "link", actor)
    return links.link(
        session,
        a=problem.key,
        b=_incident_key(session, incident, actor),
        kind=INCIDENT_LINK,
        actor=actor.user_id,
        now=now,
    )


def unlink_incident(
    session: Session, *, key: str, incident: str, actor: Actor, now: datetime
) -> bool:
    """Remove an incident from the problem. False when it was not linked."""
    require_agent(actor, doing="unlink incidents from problems")
    problem = get(session, key=key, for_update=True)
    return links.unlink(
        session,
        a=problem.key,
        b=incident.strip().upper(),
        kind=INCIDENT_LINK,
        actor=actor.user_id,
        now=now,
    )


def linked_incidents(session: Session, *, key: str, open_only: bool = False) -> list[str]:
    """Incident keys linked to the problem, oldest first."""
    keys = [k for k in links.linked(session, key=key, kind=INCIDENT_LINK) if k.startswith("INC-")]
    if not open_only or not keys:
        return keys
    ids = [int(k.partition("-")[2]) for k in keys]
    statement = select(Incident.id).where(
        col(Incident.id).in_(ids), col(Incident.status).in_([s.value for s in INCIDENT_OPEN])
    )
    return [f"INC-{i}" for i in sorted(session.exec(statement))]


def investigate(session: Session, *, key: str, actor: Actor, now: datetime) -> Problem:
    """New → Investigating."""
    return KIND.step(session, key=key, action="investigate", actor=actor, now=now)


def record_known_error(
    session: Session, *, key: str, root_cause: str, workaround: str, actor: Actor, now: datetime
) -> tuple[Problem, list[str]]:
    """→ Known error with its root cause and workaround. Returns the linked open incidents, in
    whose threads the workaround should be posted."""
    require_agent(actor, doing="record known errors")
    if not root_cause.strip() or not workaround.strip():
        raise InvalidInput("A known error needs both the root cause and the workaround.")
    problem = KIND.step(session, key=key, action="known_error", actor=actor, now=now)
    for name, value in (("root_cause", root_cause.strip()), ("workaround", workaround.strip())):
        KIND.set_field(session, problem, name, value, actor=actor, now=now, action="updated")
    problem.known_error_at = now
    return problem, linked_incidents(session, key=problem.key, open_only=True)


def resolve(
    session: Session,
    *,
    key: str,
    actor: Actor,
    now: datetime,
    change: str | None = None,
    note: str | None = None,
) -> tuple[Problem, list[str]]:
    """→ Resolved, by a change (its key) or directly with a note. Returns the linked open
    incidents to tell."""
    require_agent(actor, doing="resolve problems")
    change = (change or "").strip().upper() or None
    note = (note or "").strip() or None
    if not change and not note:
        raise InvalidInput("Name the change that fixed it, or say in a sentence how it was fixed.")
    problem = KIND.step(
        session, key=key, action="resolve", actor=actor, now=now, note=change or note
    )
    if change:
        problem.resolved_by_change = change
        links.link(
            session,
            a=problem.resolved_by_change,
            b=problem.key,
            kind="fixes",
            actor=actor.user_id,
            now=now,
        )
    problem.resolution_note = note
    problem.resolved_at = now
    return problem, linked_incidents(session, key=problem.key, open_only=True)


def close(session: Session, *, key: str, actor: Actor, now: datetime) -> Problem:
    """Resolved → Closed."""
    require_agent(actor, doing="close problems")
    problem = KIND.step(session, key=key, action="close", actor=actor, now=now)
    problem.closed_at = now
    return problem


def known_error_for(
    session: Session, *, service: str | None = None, item: str | None = None
) -> Problem | None:
    """The newest open known error on this service or item (key or name), if any."""
    conditions = []
    if service:
        conditions.append(col(Problem.service) == service)
    if item:
        try:
            conditions.append(col(Problem.item_key) == cmdb.resolve(session, ref=item).key)
        except NotFound:
            pass
    if not conditions:
        return None
    statement = (
        select(Problem)
        .where(Problem.status == S.KNOWN_ERROR.value, or_(*conditions))
        .order_by(col(Problem.known_error_at).desc(), col(Problem.id).desc())
    )
    return session.exec(statement).first()


def known_errors(session: Session, *, search: str | None = None, limit: int = 50) -> list[Problem]:
    """Open known errors, newest first, optionally whose title or workaround mentions `search`."""
    statement = select(Problem).where(Problem.status == S.KNOWN_ERROR.value)
    if search and search.strip():
        pattern = f"%{search.strip().lower()}%"
        statement = statement.where(
            or_(col(Problem.title).ilike(pattern), col(Problem.workaround).ilike(pattern))
        )
    statement = statement.order_by(col(Problem.id).desc()).limit(limit)
    return list(session.exec(statement))


def list_problems(
    session: Session, *, open_only: bool = True, service: str | None = None, limit: int = 25
) -> list[Problem]:
    """Problems, newest first."""
    statement = select(Problem)
    if open_only:
        statement = statement.where(col(Problem.status).in_([s.value for s in OPEN_STATUSES]))
    if service is not None:
        statement = statement.where(Problem.service == service)
    return list(session.exec(statement.order_by(col(Problem.id).desc()).limit(limit)))


@dataclass(frozen=True)
class TrendFinding:
    proposal_id: int
    target: str
    incident_keys: list[str]


def _targets(session: Session, incident: Incident) -> list[tuple[str, ColumnElement[bool]]]:
    """(target, the test an incident on it passes) for the incident's service and each item
    linked to it. A test, not a list of ids: a service's or an item's history is unbounded,
    while the trend window (which the caller adds) keeps the read to recent incidents."""
    found: list[tuple[str, ColumnElement[bool]]] = []
    if incident.service:
        found.append((f"service:{incident.service.lower()}", Incident.service == incident.service))
    incident_key = literal(f"{INCIDENT_KEY_PREFIX}-") + cast(col(Incident.id), String)
    for item_key in links.linked(session, key=incident.key, kind=cmdb.ITEM_LINK):
        linked_to_item = exists().where(
            RecordLink.kind == cmdb.ITEM_LINK,
            or_(
                and_(RecordLink.a == item_key, RecordLink.b == incident_key),
                and_(RecordLink.b == item_key, RecordLink.a == incident_key),
            ),
        )
        found.append((f"item:{item_key}", linked_to_item))
    return found


def _clusters(
    session: Session, incident: Incident, *, now: datetime, policy: Policy
) -> Iterator[tuple[str, list[str], datetime]]:
    """(target, incident keys, earliest) of each cluster this incident completes that no open
    problem covers and no proposal made yet: reads only."""
    since = now - policy.problems.trend_window
    for target, on_target in _targets(session, incident):
        cluster = list(
            session.exec(
                select(Incident)
                .where(
                    on_target,
                    col(Incident.created_at) >= since,
                    # Restricted incidents never join a trend posted in the shared channel.
                    col(Incident.restricted).is_(False),
                )
                .order_by(col(Incident.created_at), col(Incident.id))
            )
        )
        if len(cluster) < policy.problems.trend_incidents:
            continue
        keys = [i.key for i in cluster]
        if _covered_by_open_problem(session, keys):
            continue
        earliest = cluster[0].created_at
        already = session.exec(
            select(TrendProposal.id).where(
                TrendProposal.target == target, col(TrendProposal.proposed_at) >= earliest
            )
        ).first()
        if already is None:
            yield target, keys, earliest


def trend_possible(session: Session, *, incident_key: str, now: datetime, policy: Policy) -> bool:
    """Whether `detect_trend` would find something now: the same reads, no write (so a caller
    can look in a read-only transaction first and take the write lock only when needed)."""
    from services import incidents

    incident = incidents.get(session, key=incident_key)
    return next(_clusters(session, incident, now=now, policy=policy), None) is not None


def detect_trend(
    session: Session, *, incident_key: str, now: datetime, policy: Policy
) -> TrendFinding | None:
    """When this incident makes N incidents on one service or item within the window and none
    of them is linked to an open problem, record one proposal per cluster and return it."""
    from services import incidents

    incident = incidents.get(session, key=incident_key)
    for target, keys, earliest in _clusters(session, incident, now=now, policy=policy):
        proposal = TrendProposal(
            target=target, incident_keys=json.dumps(keys), earliest_at=earliest, proposed_at=now
        )
        if not rows.add_once(session, proposal):
            continue  # the same cluster was proposed concurrently
        return TrendFinding(proposal.id, target, keys)  # type: ignore[arg-type]
    return None


def _covered_by_open_problem(session: Session, incident_keys: list[str]) -> bool:
    rows = session.exec(
        select(RecordLink.a).where(
            col(RecordLink.b).in_(incident_keys), RecordLink.kind == INCIDENT_LINK
        )
    )
    problem_ids = [int(a.partition("-")[2]) for a in rows if a.startswith("PRB-")]
    if not problem_ids:
        return False
    statement = select(Problem.id).where(
        col(Problem.id).in_(problem_ids), col(Problem.status).in_([s.value for s in OPEN_STATUSES])
    )
    return session.exec(statement).first() is not None


def raise_from_proposal(
    session: Session, *, proposal_id: int, actor: Actor, now: datetime
) -> tuple[Problem, bool]:
    """Raise the proposed problem with the cluster's incidents linked. Twice → one problem
    (returns it and False)."""
    require_agent(actor, doing="raise problems")
    statement = (
        select(TrendProposal)
        .where(TrendProposal.id == proposal_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    proposal = session.exec(statement).first()
    if proposal is None:
        raise NotFound("That problem proposal no longer exists.")
    if proposal.problem_id is not None:
        return get(session, key=f"{KEY_PREFIX}-{proposal.problem_id}"), False
    kind, _, ref = proposal.target.partition(":")
    keys = json.loads(proposal.incident_keys)
    first = session.exec(
        select(Incident).where(Incident.id == int(keys[0].partition("-")[2]))
    ).one()
    problem = raise_problem(
        session,
        title=f"Repeated incidents on {first.service if kind == 'service' else ref}",
        description=f"{len(keys)} incidents: {', '.join(keys)}",
        actor=actor,
        now=now,
        service=first.service if kind == "service" else None,
        item=ref if kind == "item" else None,
    )
    for key in keys:
        link_incident(session, key=problem.key, incident=key, actor=actor, now=now)
    proposal.problem_id = problem.id
    return problem, True


# Its one channel message: claimed by one poster, released if posting failed, then remembered.
claim_announcement = KIND.claim_announcement
release_announcement = KIND.release_announcement
record_message = KIND.record_message
