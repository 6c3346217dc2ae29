"""The notification outbox: schedule a message once, claim what is due, record the outcome.

Sending is the notifier's job (bot/notifier.py); these functions only move rows. A row is
never deleted: pending → sending (claimed, with a lease) → sent, or back to pending with a later
`next_attempt_at` when Slack failed, or cancelled when it no longer applies.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from models.notification import Notification, NotificationStatus
from services import inserts

N = NotificationStatus

# A message delivered this long after its due time is flagged late (the bot was down, or Slack).
LATE_AFTER = timedelta(minutes=5)
# The default grace at send time (policy: escalation.late_grace). A bot that is up sends within
# about a second of the due instant (the wake-up job in schedules/wakeup.py), so 15 s leaves room
# for a slow Slack and the per-channel pace, while a bot that was down (the 40 s after a
# kill -9) is marked late.
LATE_GRACE = timedelta(seconds=15)
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=30)
ERROR_MAX = 500

_UNIQUE_COLUMNS = ["record_key", "kind", "stage", "recipient"]
# The key under which a session carries the earliest instant it made something due, until it
# commits (bot/db.py hands it to the after-commit hooks: the scheduler's wake-up).
WAKE_AT_INFO = "servicedesk.wake_at"


def note_wake(session: Session, when: datetime | None) -> None:
    """Note that something (an SLA stage, an outbox row) falls due at `when`."""
    if when is None:
        return
    earlier = session.info.get(WAKE_AT_INFO)
    if earlier is None or when < earlier:
        session.info[WAKE_AT_INFO] = when


def next_wake_at(session: Session) -> datetime | None:
    """The earliest instant anything falls due: the next SLA stage, the next page to escalate
    or the next outbox row to try. Three MIN lookups on indexed columns."""
    from models.page import Page
    from models.sla_timer import SlaTimer

    timer = session.exec(select(func.min(SlaTimer.next_due_at))).one()
    page = session.exec(
        select(func.min(Page.ack_due_at)).where(col(Page.acknowledged_at).is_(None))
    ).one()
    row = session.exec(
        select(func.min(Notification.next_attempt_at)).where(
            col(Notification.status).in_([N.PENDING.value, N.SENDING.value])
        )
    ).one()
    found = [when for when in (timer, page, row) if when is not None]
    return min(found) if found else None


def row(
    *,
    record_key: str,
    kind: str,
    stage: str,
    recipient: str,
    due_at: datetime,
    text: str,
    blocks: list[dict[str, Any]] | str | None = None,
    thread: tuple[str, str] | None = None,
    late: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The outbox row for one message, as `schedule_many` takes it."""
    return {
        "record_key": record_key,
        "kind": kind,
        "stage": stage,
        "recipient": recipient,
        "due_at": due_at,
        "status": N.PENDING.value,
        "next_attempt_at": due_at,
        "attempts": 0,
        "late": late,
        "text": text,
        "blocks": blocks if blocks is None or isinstance(blocks, str) else json.dumps(blocks),
        "thread_channel": thread[0] if thread else None,
        "thread_ts": thread[1] if thread else None,
        "created_at": now or due_at,
    }


def _insert(session: Session) -> Any:
    # ON CONFLICT DO NOTHING never raises and never aborts the caller's transaction, so two
    # processes scheduling the same stage at once both carry on; exactly one row results.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return (
        insert(_TABLE).on_conflict_do_nothing(index_elements=_UNIQUE_COLUMNS).returning(_TABLE.c.id)
    )


_TABLE = Notification.__table__  # type: ignore[attr-defined]


@functools.cache
def _recordset_insert(columns: tuple[str, ...]) -> Any:
    """INSERT … SELECT FROM json_to_recordset(the rows as one JSON array) ON CONFLICT DO
    NOTHING, for PostgreSQL: one short statement and one parameter, however many rows. Text
    is read as `text` so that a value too long for its column is refused by the column, as a
    plain INSERT would, not cut by a cast."""

    def sql_type(name: str) -> str:
        kind = _TABLE.c[name].type.compile(dialect=postgresql.dialect())
        return "text" if kind.startswith(("VARCHAR", "TEXT")) else kind

    names = ", ".join(columns)
    shape = ", ".join(f"{name} {sql_type(name)}" for name in columns)
    unique = ", ".join(_UNIQUE_COLUMNS)
    return text(
        f"INSERT INTO {_TABLE.name} ({names}) SELECT {names} "
        f"FROM json_to_recordset(CAST(:rows AS json)) AS v({shape}) "
        f"ON CONFLICT ({unique}) DO NOTHING"
    )


def schedule(
    session: Session,
    *,
    record_key: str,
    kind: str,
    stage: str,
    recipient: str,
    due_at: datetime,
    text: str,
    blocks: list[dict[str, Any]] | str | None = None,
    thread: tuple[str, str] | None = None,
    late: bool = False,
    now: datetime | None = None,
) -> bool:
    """Queue one message for `recipient` at `due_at`. Returns False (and changes nothing) when
    the same (record_key, kind, stage, recipient) was ever queued before, by anyone.

    `thread` is (channel id, ts) of a record's message to reply under, for channel recipients.
    """
    values = row(
        record_key=record_key,
        kind=kind,
        stage=stage,
        recipient=recipient,
        due_at=due_at,
        text=text,
        blocks=blocks,
        thread=thread,
        late=late,
        now=now,
    )
    note_wake(session, due_at)
    return session.execute(_insert(session).values(**values)).scalar_one_or_none() is not None


def schedule_many(session: Session, rows: list[dict[str, Any]]) -> int:
    """Queue many rows made by `row` in one statement (SQLAlchemy packs them into one
    multi-row INSERT … ON CONFLICT DO NOTHING); those queued before are skipped. Returns how
    many were new."""
    if not rows:
        return 0
    note_wake(session, min(row["next_attempt_at"] for row in rows))
    if session.get_bind().dialect.name == "postgresql":
        # One short statement whatever the number of rows, the rows as one JSON parameter (a
        # multi-row VALUES list made a statement the driver parsed afresh every time).
        statement = _recordset_insert(tuple(rows[0]))
        payload = inserts.json_rows(rows)
        return int(session.execute(statement, {"rows": payload}).rowcount)
    # SQLite runs in-process: a plain executemany is the cheapest way in.
    insert = sqlite_insert(_TABLE).on_conflict_do_nothing(index_elements=_UNIQUE_COLUMNS)
    return int(session.execute(insert, rows).rowcount)


def schedule_new(session: Session, rows: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    """`schedule_many` that tells which rows were new: the (record_key, kind, stage,
    recipient) of each row queued now, in one statement (INSERT … ON CONFLICT DO NOTHING
    RETURNING, several rows to a statement)."""
    if not rows:
        return set()
    note_wake(session, min(row["next_attempt_at"] for row in rows))
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(_TABLE)
        .on_conflict_do_nothing(index_elements=_UNIQUE_COLUMNS)
        .returning(*(_TABLE.c[name] for name in _UNIQUE_COLUMNS))
    )
    return {(a, b, c, d) for a, b, c, d in session.execute(statement, rows)}


def claim_due(
    session: Session, *, now: datetime, limit: int = 100, lease: timedelta = timedelta(minutes=2)
) -> list[Notification]:
    """Take up to `limit` due rows for sending: pending ones whose time has come, and rows
    another sender claimed but never finished (its lease ran out: it crashed or hung).

    Claimed rows are 'sending' until `now + lease`; commit promptly so others skip them.
    One statement: UPDATE … WHERE id IN (the due rows) RETURNING them.
    """
    due = and_(
        col(Notification.status).in_([N.PENDING.value, N.SENDING.value]),
        col(Notification.next_attempt_at) <= now,
    )
    chosen = (
        select(Notification.id)
        .where(due)
        .order_by(col(Notification.next_attempt_at), col(Notification.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two senders at once each lock a disjoint set of rows instead of queueing or both
        # taking the same ones. (SQLite's writers are serialised by BEGIN IMMEDIATE.) The
        # choice is a MATERIALIZED CTE: as a plain IN (subquery) PostgreSQL may run the
        # LIMIT … SKIP LOCKED subquery more than once in one UPDATE and claim more than
        # `limit` rows (seen: 101 of 101 with a limit of 100).
        picked = chosen.with_for_update(skip_locked=True).cte("chosen").prefix_with("MATERIALIZED")
        ids: Any = select(picked.c.id).scalar_subquery()
    else:
        ids = chosen.scalar_subquery()
    # `due` again in the UPDATE: the claim succeeds for one sender only, even where the
    # subquery took no lock.
    statement = (
        update(Notification)
        .where(col(Notification.id).in_(ids), due)
        .values(
            status=N.SENDING.value,
            next_attempt_at=now + lease,
            attempts=col(Notification.attempts) + 1,
        )
        .returning(Notification)
    )
    claimed = list(session.scalars(statement, execution_options={"populate_existing": True}).all())
    claimed.sort(key=lambda row: (row.due_at, row.id))
    return claimed


def defer(session: Session, *, until: dict[int, datetime]) -> None:
    """Hand claimed rows back unsent, each to be tried at its own time (the notifier paces a
    channel's posts): no attempt is counted. One statement."""
    if not until:
        return
    session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == bindparam("b_id"), _TABLE.c.status == N.SENDING.value)
        .values(
            status=N.PENDING.value,
            next_attempt_at=bindparam("b_at"),
            attempts=_TABLE.c.attempts - 1,
        ),
        [{"b_id": id, "b_at": at} for id, at in until.items()],
    )
    note_wake(session, min(until.values()))


@dataclass(frozen=True)
class Sent:
    """Row `id` reached Slack at `at`."""

    id: int
    at: datetime


@dataclass(frozen=True)
class Failed:
    """Slack refused row `id` at `at` (or could not be reached), with Slack's Retry-After if
    it gave one; `rate_limited` when it refused for pace (a 429) rather than for a fault."""

    id: int
    at: datetime
    error: str
    retry_after: float | None = None
    rate_limited: bool = False


_UNFINISHED = (N.SENDING.value, N.PENDING.value)
# The same as a condition an executemany can carry (no expanding IN list).
_STILL_OURS = or_(_TABLE.c.status == N.SENDING.value, _TABLE.c.status == N.PENDING.value)


def _unfinished(session: Session, ids: list[int]) -> dict[int, int]:
    """{id: attempts} of the rows among `ids` still ours to finish (read afresh)."""
    statement = sa_select(_TABLE.c.id, _TABLE.c.attempts).where(
        _TABLE.c.id.in_(ids), _TABLE.c.status.in_(_UNFINISHED)
    )
    return {id: attempts for id, attempts in session.execute(statement)}


def _expire(session: Session, ids: list[int]) -> None:
    """The rows were updated by statement: any copy this session holds is read again."""
    for id in ids:
        held = session.identity_map.get(identity_key(Notification, id))
        if held is not None:
            session.expire(held)


def mark_sent(
    session: Session, *, id: int, now: datetime, late_grace: timedelta = LATE_GRACE
) -> bool:
    """Record that row `id` reached Slack. False when it was not ours to finish any more.
    Sent more than `late_grace` after its due time, it is marked late, for good."""
    return bool(mark_sent_many(session, sent=[Sent(id, now)], late_grace=late_grace))


def mark_sent_many(
    session: Session, *, sent: list[Sent], late_grace: timedelta = LATE_GRACE
) -> list[int]:
    """`mark_sent` for many rows, each with its own time, in two statements however many:
    one read of which are still ours, one update of those. Returns the ids recorded."""
    if not sent:
        return []
    ours = _unfinished(session, [s.id for s in sent])
    done = [s for s in sent if s.id in ours]
    if done:
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.id == bindparam("b_id"), _STILL_OURS)
            .values(
                status=N.SENT.value,
                sent_at=bindparam("b_at"),
                last_error=None,
                late=or_(_TABLE.c.late, _TABLE.c.due_at < bindparam("b_cutoff")),
            ),
            [{"b_id": s.id, "b_at": s.at, "b_cutoff": s.at - late_grace} for s in done],
        )
        _expire(session, [s.id for s in done])
    return [s.id for s in done]


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try: doubling from 30 s, at most 30 min."""
    exponent = max(0, min(attempts - 1, 16))
    return min(BACKOFF_FIRST * (2**exponent), BACKOFF_CAP)


def mark_failed(
    session: Session,
    *,
    id: int,
    now: datetime,
    error: str,
    retry_after: float | None = None,
    rate_limited: bool = False,
) -> datetime | None:
    """Slack refused or could not be reached: the row goes back to pending for a later try
    (exponential backoff, or Slack's Retry-After when longer). Nothing is dropped.

    Returns the time of the next try, or None when the row was not ours to finish.
    """
    failure = Failed(id, now, error, retry_after=retry_after, rate_limited=rate_limited)
    return mark_failed_many(session, failed=[failure]).get(id)


def _wait(failure: Failed, attempts: int) -> timedelta:
    wait = backoff(attempts)
    retry_after = failure.retry_after
    if failure.rate_limited and retry_after is not None and retry_after > 0:
        # Slack refused for pace, not for a fault: its Retry-After is the whole wait.
        return timedelta(seconds=retry_after)
    if retry_after is not None and retry_after > 0:
        return max(wait, timedelta(seconds=retry_after))
    return wait


def mark_failed_many(session: Session, *, failed: list[Failed]) -> dict[int, datetime]:
    """`mark_failed` for many rows in two statements however many: one read of which are
    still ours (and their attempts, for the backoff), one update of those. Returns
    {id: time of its next try} for the rows recorded."""
    if not failed:
        return {}
    ours = _unfinished(session, [f.id for f in failed])
    retry = {f.id: (f, f.at + _wait(f, ours[f.id])) for f in failed if f.id in ours}
    if not retry:
        return {}
    session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == bindparam("b_id"), _STILL_OURS)
        .values(
            status=N.PENDING.value,
            next_attempt_at=bindparam("b_next"),
            last_error=bindparam("b_error"),
        ),
        [
            {"b_id": id, "b_next": at, "b_error": failure.error[:ERROR_MAX]}
            for id, (failure, at) in retry.items()
        ],
    )
    _expire(session, list(retry))
    note_wake(session, min(at for _, at in retry.values()))
    return {id: at for id, (_, at) in retry.items()}


def cancel_for(
    session: Session, *, record_key: str, kind: str | None = None, stage_prefix: str | None = None
) -> int:
    """Cancel what is still waiting for `record_key` (optionally one kind, or stages starting
    with `stage_prefix`, e.g. "response:"). Rows being sent or sent are left alone. Returns the
    number cancelled."""
    statement = update(Notification).where(
        col(Notification.record_key) == record_key,
        col(Notification.status) == N.PENDING.value,
    )
    if kind is not None:
        statement = statement.where(col(Notification.kind) == kind)
    if stage_prefix is not None:
        escaped = stage_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(col(Notification.stage).like(escaped + "%", escape="\\"))
    return session.execute(statement.values(status=N.CANCELLED.value)).rowcount


def cancel_many(session: Session, *, kind: str, prefixes: list[tuple[str, str]]) -> int:
    """`cancel_for` for many (record key, stage prefix) pairs of one kind, in one statement."""
    if not prefixes:
        return 0
    matches = []
    for record_key, prefix in prefixes:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches.append(
            and_(
                col(Notification.record_key) == record_key,
                col(Notification.stage).like(escaped + "%", escape="\\"),
            )
        )
    statement = update(Notification).where(
        col(Notification.status) == N.PENDING.value,
        col(Notification.kind) == kind,
        col(Notification.record_key).in_({record_key for record_key, _ in prefixes}),
        or_(*matches),
    )
    return session.execute(statement.values(status=N.CANCELLED.value)).rowcount


def for_record(session: Session, *, record_key: str, kind: str | None = None) -> list[Notification]:
    """Every outbox row of one record, oldest first (for tests, `/incident show` and support)."""
    statement = select(Notification).where(Notification.record_key == record_key)
    if kind is not None:
        statement = statement.where(Notification.kind == kind)
    return list(session.exec(statement.order_by(col(Notification.id))))


def late_by(row: Notification) -> timedelta | None:
    """How late a sent row went out (sent_at − due_at), for rows marked late; else None."""
    if not row.late or row.sent_at is None:
        return None
    return max(row.sent_at - row.due_at, timedelta(0))


def count_late(session: Session, *, since: datetime, until: datetime) -> int:
    """How many notifications sent between `since` and `until` (both included) went out late (the bot or Slack was
    unavailable when they fell due). Served by the partial index on late rows' sent_at."""
    statement = select(func.count()).where(
        col(Notification.late).is_(True),
        col(Notification.sent_at) >= since,
        col(Notification.sent_at) <= until,
    )
    return int(session.exec(statement).one())
