"""Satisfaction surveys: when an incident is resolved or a service request fulfilled, its
reporter gets one direct message asking how it went (1-5), through the outbox.

The sweep finds what was resolved recently and has no survey yet in one query; the survey row
(UNIQUE record_key) is inserted with ON CONFLICT DO NOTHING and only the rows this caller
inserted are queued, so a record is surveyed once across restarts and replicas. A person
surveyed within `surveys.min_interval` is not asked again (the row is kept as skipped, so the
record is not reconsidered). A low score notifies the team lead and the relationship owner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from models.incident import Incident, IncidentStatus
from models.policy import Policy
from models.relationship import Survey, SurveyStatus
from models.relationship_policy import Customer
from models.service_request import RequestStatus, ServiceRequest
from services import audit, notifications
from services.errors import AlreadyDone, Forbidden, InvalidInput, NotFound
from services.mrkdwn import mention, user_text
from services.permissions import Actor
from services.records import is_person

KIND = "survey"
SCORE_ACTION_PREFIX = "survey_score_"
COMMENT_ACTION = "survey_comment"
FOLLOW_UP_ACTION = "survey_follow_up"
COMMENT_MAX = 2000
SWEEP_LIMIT = 500
SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Candidate:
    record_key: str
    recipient: str
    service: str | None
    team: str | None
    agreement: str | None
    title: str


def customer_for(policy: Policy, *, service: str | None, agreement: str | None) -> Customer | None:
    """The customer using this service (or agreement), the first listed when several do."""
    for customer in policy.customers:
        if service and service.lower() in (s.lower() for s in customer.services):
            return customer
        if agreement and agreement.lower() in (a.lower() for a in customer.agreements):
            return customer
    return None


def _key_of(prefix: str, model: Any) -> Any:
    return literal(f"{prefix}-") + cast(model.id, String)


def _not_surveyed(prefix: str, model: Any) -> Any:
    return ~exists().where(col(Survey.record_key) == _key_of(prefix, model))


# What is surveyed: (key prefix, table, the person asked, the team, when it was done, the
# states that count as done; never cancelled).
_SURVEYED: tuple[tuple[str, Any, Any, Any, Any, list[str]], ...] = (
    (
        "INC",
        Incident,
        Incident.reporter,
        Incident.team,
        Incident.resolved_at,
        [IncidentStatus.RESOLVED.value, IncidentStatus.CLOSED.value],
    ),
    (
        "REQ",
        ServiceRequest,
        ServiceRequest.requester,
        ServiceRequest.fulfilment_team,
        ServiceRequest.fulfilled_at,
        [RequestStatus.FULFILLED.value, RequestStatus.CLOSED.value],
    ),
)


def candidates(session: Session, *, now: datetime, policy: Policy) -> list[Candidate]:
    """Incidents resolved and requests fulfilled within `surveys.within` that have no survey
    row yet (never cancelled ones): two indexed range queries."""
    since = now - policy.surveys.within
    found: list[Candidate] = []
    for prefix, model, person, team, done_at, done in _SURVEYED:
        rows = session.execute(
            select(model.id, person, model.service, team, model.agreement, model.title)
            .where(
                col(done_at) >= since,
                col(done_at) <= now,
                col(model.status).in_(done),
                _not_surveyed(prefix, model),
            )
            .order_by(col(done_at), col(model.id))  # ties: the older record first
            .limit(SWEEP_LIMIT)
        ).all()
        found += [Candidate(f"{prefix}-{row[0]}", *row[1:]) for row in rows]
    return found


def _recently_surveyed(session: Session, people: set[str], since: datetime) -> set[str]:
    if not people:
        return set()
    rows = session.execute(
        select(Survey.recipient)
        .where(
            col(Survey.recipient).in_(people),
            col(Survey.created_at) > since,
            col(Survey.status).in_([SurveyStatus.SENT.value, SurveyStatus.ANSWERED.value]),
        )
        .distinct()
    ).all()
    return {row[0] for row in rows}


def question_text(candidate: Candidate) -> str:
    return (
        f":wave: {candidate.record_key} ({user_text(candidate.title)}) was resolved. "
        "How did it go? 1 is very poor, 5 is excellent."
    )


def question_blocks(record_key: str, text: str) -> list[dict[str, Any]]:
    """The survey DM: the question and five buttons, each carrying the record's key."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"survey|{record_key}",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": str(score)},
                    "action_id": f"{SCORE_ACTION_PREFIX}{score}",
                    "value": record_key,
                }
                for score in SCORES
            ],
        },
    ]


def _insert(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert survey rows; returns the record keys this call inserted (others had one)."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = Survey.__table__  # type: ignore[attr-defined]
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["record_key"])
        .returning(table.c.record_key)
    )
    if dialect == "postgresql":
        return {row[0] for row in session.execute(statement, rows).all()}
    # SQLite: one statement with every row (RETURNING needs single-statement execution).
    return {row[0] for row in session.execute(statement.values(rows)).all()}


def sweep(session: Session, *, now: datetime, policy: Policy) -> list[str]:
    """Queue a survey for each record resolved since the last sweep; returns the keys asked.
    The statement count is fixed: candidates, recent recipients, one insert, one outbox insert."""
    settings = policy.surveys
    if not settings.enabled:
        return []
    found = candidates(session, now=now, policy=policy)
    if not found:
        return []
    off = {name.lower() for name in settings.off_for}
    people = {c.recipient for c in found if is_person(c.recipient)}
    busy = _recently_surveyed(session, people, now - settings.min_interval)
    rows, asking = [], []
    for candidate in found:
        customer = customer_for(policy, service=candidate.service, agreement=candidate.agreement)
        ask = (
            is_person(candidate.recipient)
            and candidate.recipient not in busy
            and (candidate.service or "").lower() not in off
        )
        if ask:
            busy.add(candidate.recipient)  # one survey per person in this batch too
            asking.append(candidate)
        rows.append(
            {
                "record_key": candidate.record_key,
                "recipient": candidate.recipient[:32],
                "service": candidate.service,
                "team": candidate.team,
                "customer": customer.name if customer else None,
                "status": (SurveyStatus.SENT if ask else SurveyStatus.SKIPPED).value,
                "created_at": now,
            }
        )
    inserted = _insert(session, rows)
    outbox = []
    for candidate in asking:
        if candidate.record_key not in inserted:
            continue  # another process surveyed it first
        text = question_text(candidate)
        outbox.append(
            notifications.row(
                record_key=candidate.record_key,
                kind=KIND,
                stage="ask",
                recipient=candidate.recipient,
                due_at=now,
                text=text,
                blocks=question_blocks(candidate.record_key, text),
                now=now,
            )
        )
    notifications.schedule_many(session, outbox)
    return [row["record_key"] for row in outbox]


def _survey(session: Session, record_key: str) -> Survey:
    survey = session.scalars(
        select(Survey)
        .where(col(Survey.record_key) == record_key.strip().upper()[:32])
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if survey is None or survey.status == SurveyStatus.SKIPPED.value:
        raise NotFound(f"There is no survey about {user_text(record_key[:32])}.")
    return survey


def _check_person(survey: Survey, actor: Actor) -> None:
    if actor.user_id != survey.recipient:
        raise Forbidden(
            f"This survey about {survey.record_key} was for {mention(survey.recipient)}; "
            "only they can answer it."
        )


@dataclass
class Answered:
    survey: Survey
    low: bool = False
    told: list[str] = field(default_factory=list)


def low_recipients(policy: Policy, survey: Survey) -> list[str]:
    """Who hears of a low score: the team lead and the customer's relationship owner."""
    team = policy.team(survey.team)
    customer = next((c for c in policy.customers if c.name == survey.customer), None)
    found = [team.lead if team else None, customer.owner if customer else None]
    return list(dict.fromkeys(ref for ref in found if ref))


def _notify_low(
    session: Session, survey: Survey, policy: Policy, now: datetime, *, stage: str
) -> list[str]:
    recipients = low_recipients(policy, survey)
    comment = f"\n>{user_text(survey.comment)}" if survey.comment else ""
    text = (
        f":warning: {mention(survey.recipient)} rated {survey.record_key} {survey.score}/5{comment}"
    )
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"survey_low|{survey.record_key}",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open a follow-up"},
                    "action_id": FOLLOW_UP_ACTION,
                    "value": survey.record_key,
                }
            ],
        },
    ]
    notifications.schedule_many(
        session,
        [
            notifications.row(
                record_key=survey.record_key,
                kind=KIND,
                stage=stage,
                recipient=recipient,
                due_at=now,
                text=text,
                blocks=json.dumps(blocks),
                now=now,
            )
            for recipient in recipients
        ],
    )
    return recipients


def _recorded(
    session: Session,
    survey: Survey,
    actor: Actor,
    now: datetime,
    policy: Policy,
    *,
    field: str,
    after: str | None = None,
    note: str | None = None,
) -> Answered:
    """Store the answer (or comment), audit it, and tell of a low score."""
    session.add(survey)
    audit.record(
        session,
        key=survey.record_key,
        actor=actor.user_id,
        at=now,
        action="satisfaction",
        field=field,
        after=after,
        note=note,
    )
    result = Answered(survey)
    if survey.score is not None and survey.score <= policy.surveys.low_score:
        result.low = True
        stage = "low" if field == "score" else "low_comment"
        result.told = _notify_low(session, survey, policy, now, stage=stage)
    return result


def answer(
    session: Session, *, record_key: str, score: int, actor: Actor, now: datetime, policy: Policy
) -> Answered:
    """The reporter's score, once: a second click changes nothing and says so."""
    if score not in SCORES:
        raise InvalidInput("Scores run from 1 to 5.")
    survey = _survey(session, record_key)
    _check_person(survey, actor)
    if survey.score is not None:
        raise AlreadyDone(
            f"You already rated {survey.record_key} {survey.score}/5; thank you. "
            "One answer per record."
        )
    survey.score = score
    survey.status = SurveyStatus.ANSWERED.value
    survey.answered_at = now
    return _recorded(session, survey, actor, now, policy, field="score", after=str(score))


def check_comment(session: Session, *, record_key: str, actor: Actor) -> Survey:
    """Before the comment form opens: the survey is this person's and has its score."""
    survey = _survey(session, record_key)
    _check_person(survey, actor)
    if survey.score is None:
        raise InvalidInput("Choose a score first.")
    if survey.comment:
        raise AlreadyDone(f"Your comment on {survey.record_key} is already recorded; thank you.")
    return survey


def add_comment(
    session: Session, *, record_key: str, comment: str, actor: Actor, now: datetime, policy: Policy
) -> Answered:
    """The reporter's optional comment, after the score, once."""
    text = (comment or "").strip()
    if not text:
        raise InvalidInput("Write a comment, or close the form.")
    if len(text) > COMMENT_MAX:
        raise InvalidInput(f"Keep the comment under {COMMENT_MAX} characters (it has {len(text)}).")
    survey = check_comment(session, record_key=record_key, actor=actor)
    survey.comment = text
    return _recorded(session, survey, actor, now, policy, field="comment", note=text)


def check_follow_up(session: Session, *, record_key: str, actor: Actor, policy: Policy) -> Survey:
    """Who may open a follow-up of a low score: those told of it, and agents."""
    survey = _survey(session, record_key)
    allowed = set(low_recipients(policy, survey))
    if not actor.is_agent and actor.user_id not in allowed:
        raise Forbidden("Only the team lead, the relationship owner or an agent can follow it up.")
    if survey.follow_up:
        raise AlreadyDone(f"{survey.follow_up} already follows up {survey.record_key}.")
    return survey


# ---- figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Csat:
    asked: int
    answered: int
    average: float | None
    distribution: dict[int, int]
    comments: list[tuple[str, int, str]]  # (record key, score, comment), newest first

    @property
    def response_rate(self) -> float | None:
        return None if not self.asked else 100.0 * self.answered / self.asked


def figures(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    service: str | None = None,
    team: str | None = None,
    customer: str | None = None,
    services: tuple[str, ...] | None = None,
    comments: int = 5,
) -> Csat:
    """Response rate, average, distribution and the latest comments of surveys sent in the
    period, for one service, team, customer or set of services (or all). Two grouped queries."""
    where = [
        col(Survey.created_at) >= since,
        col(Survey.created_at) < until,
        col(Survey.status).in_([SurveyStatus.SENT.value, SurveyStatus.ANSWERED.value]),
    ]
    for column, value in (
        (Survey.service, service),
        (Survey.team, team),
        (Survey.customer, customer),
    ):
        if value is not None:
            where.append(func.lower(col(column)) == value.lower())
    if services is not None:
        where.append(func.lower(col(Survey.service)).in_([name.lower() for name in services]))
    counts = session.execute(
        select(Survey.score, func.count()).where(and_(*where)).group_by(col(Survey.score))
    ).all()
    distribution = {score: 0 for score in SCORES}
    asked = 0
    for score, count in counts:
        asked += count
        if score is not None:
            distribution[int(score)] = int(count)
    answered = sum(distribution.values())
    total = sum(score * count for score, count in distribution.items())
    latest = session.execute(
        select(Survey.record_key, Survey.score, Survey.comment)
        .where(and_(*where), col(Survey.comment).is_not(None))
        .order_by(col(Survey.answered_at).desc(), col(Survey.id).desc())
        .limit(comments)
    ).all()
    return Csat(
        asked=asked,
        answered=answered,
        average=total / answered if answered else None,
        distribution=distribution,
        comments=[(row[0], int(row[1] or 0), row[2]) for row in latest],
    )
