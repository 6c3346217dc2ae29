"""Paging with an escalation ladder: page the first rung of the team's ladder, and when nobody
acknowledges within `escalation.page_ack_timeout`, page the next rung, up to the top."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from models.page import Page
from models.policy import Policy
from services import audit, notifications, rows, security
from services.errors import AlreadyDone, NotFound
from services.permissions import SYSTEM

KIND = "page"
ACK_ACTION_ID = "page_acknowledge"


def ladder(policy: Policy, team: str) -> list[str]:
    """The team's rungs: its `escalation_ladder`, or just its on-call when it has none. A
    restricted incident's "team" is the security team, paged in `roles.security` order."""
    if team == security.SECURITY_LADDER:
        return security.recipients(policy)
    found = policy.team(team)
    if found is None:
        return []
    if found.escalation_ladder:
        return list(found.escalation_ladder)
    return [found.on_call] if found.on_call else []


def _text(record_key: str, level: int) -> str:
    if level == 0:
        return f":pager: You are paged for {record_key}. Acknowledge to stop the escalation."
    return (
        f":pager: You are paged for {record_key}: nobody acknowledged it at level {level}, "
        "so it has been escalated to you. Acknowledge to stop the escalation."
    )


def _blocks(record_key: str, text: str) -> list[dict[str, object]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ACK_ACTION_ID,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "value": json.dumps({"key": record_key}),
                }
            ],
        },
    ]


def _page(
    session: Session,
    *,
    record_key: str,
    team: str,
    level: int,
    rungs: list[str],
    now: datetime,
    policy: Policy,
) -> Page | None:
    top = level == len(rungs) - 1
    page = Page(
        record_key=record_key,
        team=team,
        level=level,
        recipient=rungs[level],
        paged_at=now,
        ack_due_at=None if top else now + policy.escalation.page_ack_timeout,
    )
    if not rows.add_once(session, page):
        return None  # this rung was paged already (another process, or a retry)
    # The notice is due now, so the wake-up it notes comes first; the sweep that wake-up runs
    # finds the page's own deadline (notifications.next_wake_at reads Page.ack_due_at).
    text = _text(record_key, level)
    notifications.schedule(
        session,
        record_key=record_key,
        kind=KIND,
        stage=f"ladder:{team}:{level}",
        recipient=rungs[level],
        due_at=now,
        text=text,
        blocks=_blocks(record_key, text),
        now=now,
    )
    return page


def start(
    session: Session, *, record_key: str, team: str, now: datetime, policy: Policy
) -> Page | None:
    """Page level 0 of `team`'s ladder for `record_key`. Returns None when the team has nobody
    to page; a second start for the same record and team returns the existing first page.
    Starting another team's ladder (a functional escalation) stops the previous one."""
    rungs = ladder(policy, team)
    if not rungs:
        return None
    page = _page(
        session, record_key=record_key, team=team, level=0, rungs=rungs, now=now, policy=policy
    )
    if page is None:
        return session.exec(
            select(Page).where(Page.record_key == record_key, Page.team == team, Page.level == 0)
        ).one()
    for earlier in pages(session, record_key=record_key):
        if earlier.team != team and earlier.ack_due_at is not None:
            earlier.ack_due_at = None  # handed to another team: stop climbing the old ladder
            session.add(earlier)
    audit.record(
        session,
        key=record_key,
        actor=SYSTEM.user_id,
        at=now,
        action="paged",
        field="page_level",
        after=0,
        note=f"{team}: {rungs[0]}",
    )
    return page


def pages(session: Session, *, record_key: str, for_update: bool = False) -> list[Page]:
    """Every rung paged for a record, lowest first."""
    statement = select(Page).where(Page.record_key == record_key).order_by(col(Page.id))
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return list(session.exec(statement))


def acknowledge(session: Session, *, record_key: str, by: str, now: datetime) -> Page:
    """Stop the ladder for `record_key`: nobody further is paged and waiting pages are
    cancelled. A second acknowledgement raises AlreadyDone naming who acknowledged first."""
    everything = pages(session, record_key=record_key, for_update=True)
    if not everything:
        raise NotFound(f"Nobody has been paged for {record_key}.")
    # Only the latest team's ladder is live; an earlier team's acknowledgement does not count.
    paged = [p for p in everything if p.team == everything[-1].team]
    done = next((p for p in paged if p.acknowledged_at is not None), None)
    if done is not None:
        raise AlreadyDone(
            f"The page for {record_key} was already acknowledged by <@{done.acknowledged_by}>."
        )
    current = paged[-1]
    current.acknowledged_at = now
    current.acknowledged_by = by
    for page in everything:
        page.ack_due_at = None
        session.add(page)
    notifications.cancel_for(session, record_key=record_key, kind=KIND)
    audit.record(
        session,
        key=record_key,
        actor=by,
        at=now,
        action="page acknowledged",
        field="page_level",
        after=current.level,
    )
    return current


def acknowledge_if_paged(session: Session, *, record_key: str, by: str, now: datetime) -> bool:
    """Acknowledge the page of a record that is being worked on; False when there was none
    waiting (never paged, or already acknowledged)."""
    try:
        acknowledge(session, record_key=record_key, by=by, now=now)
    except (NotFound, AlreadyDone):
        return False
    return True


def sweep(session: Session, *, now: datetime, policy: Policy, limit: int = 200) -> list[Page]:
    """Escalate every page whose acknowledgement time has passed to the next rung; returns the
    new pages. The top rung is never escalated further.

    Set-based: one read of the due pages, one update that stops them, one insert of the next
    rungs (ON CONFLICT DO NOTHING: a rung paged already, by another process, is skipped), one
    of their outbox rows and one of their audit rows, however many pages are due."""
    statement = (
        select(Page)
        .where(col(Page.ack_due_at) <= now, col(Page.acknowledged_at).is_(None))
        .order_by(col(Page.ack_due_at), col(Page.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    due = list(session.exec(statement.execution_options(populate_existing=True)))
    if not due:
        return []
    session.execute(
        update(Page).where(col(Page.id).in_([page.id for page in due])).values(ack_due_at=None)
    )
    planned: dict[tuple[str, str, int], tuple[Page, list[str]]] = {}
    for page in due:
        page.ack_due_at = None
        rungs = ladder(policy, page.team)
        level = page.level + 1
        if level >= len(rungs):
            continue  # the ladder was shortened since: the top has been reached
        planned[(page.record_key, page.team, level)] = (page, rungs)
    if not planned:
        return []
    timeout = policy.escalation.page_ack_timeout
    values = [
        {
            "record_key": record_key,
            "team": team,
            "level": level,
            "recipient": rungs[level],
            "paged_at": now,
            "ack_due_at": None if level == len(rungs) - 1 else now + timeout,
        }
        for (record_key, team, level), (_, rungs) in planned.items()
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = list(
        session.scalars(
            insert(Page)
            .on_conflict_do_nothing(index_elements=["record_key", "team", "level"])
            .returning(Page),
            values,
        )
    )
    order = {key: n for n, key in enumerate(planned)}
    created.sort(key=lambda new: order[(new.record_key, new.team, new.level)])
    outbox = []
    for new in created:
        earlier, rungs = planned[(new.record_key, new.team, new.level)]
        text = _text(new.record_key, new.level)
        outbox.append(
            notifications.row(
                record_key=new.record_key,
                kind=KIND,
                stage=f"ladder:{new.team}:{new.level}",
                recipient=new.recipient,
                due_at=now,
                text=text,
                blocks=_blocks(new.record_key, text),
                now=now,
            )
        )
        # The audit trail is a hash chain appended row by row (services/audit.py); its rows
        # go in with the caller's flush.
        audit.record(
            session,
            key=new.record_key,
            actor=SYSTEM.user_id,
            at=now,
            action="escalated",
            field="page_level",
            before=earlier.level,
            after=new.level,
            note=f"escalated to level {new.level}: {rungs[new.level]} (no acknowledgement)",
        )
    notifications.schedule_many(session, outbox)
    for new in created:
        notifications.note_wake(session, new.ack_due_at)
    return created
