"""The audit trail: append rows, read a record's history, verify the hash chain. There is no
update and no delete (the database refuses both)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, event, func, insert, literal, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from models.audit import GENESIS, AuditEntry, chain_hash

# Any constant will do, as long as nothing else in the database uses it: the advisory lock that
# serialises audit appends on PostgreSQL ("audit" in ASCII).
_APPEND_LOCK = 0x6175646974


def _text(value: object) -> str | None:
    if value is None:
        return None
    return getattr(value, "value", value) if not isinstance(value, str) else value


def _hash_of(entry: Any, prev_hash: str) -> str:
    return chain_hash(
        prev_hash=prev_hash,
        record_key=entry.record_key,
        actor=entry.actor,
        at=entry.at,
        action=entry.action,
        field=entry.field,
        from_value=entry.from_value,
        to_value=entry.to_value,
        note=entry.note,
    )


_TAIL = "servicedesk.audit_tail"


def _forget_tail(session: Session, *args: Any) -> None:
    session.info.pop(_TAIL, None)


# Any commit or rollback (a savepoint's too) forgets a remembered tail, in every session:
# listened to once for the class, not per session (which cost more than the audit row).
for _end in ("after_commit", "after_rollback", "after_soft_rollback"):
    event.listen(OrmSession, _end, _forget_tail)


def _tail_hash(session: Session) -> str:
    """The newest row's hash, once this transaction holds the right to append.

    Two writers must never chain to the same predecessor. SQLite transactions here start with
    BEGIN IMMEDIATE (bot.db), so only one writer is in at a time already. PostgreSQL takes a
    transaction-level advisory lock, only here: a second appender waits until the first
    commits, then reads its row as the tail. Within one transaction the tail is remembered, so
    only its first append reads it; any commit or rollback (a savepoint's too) forgets it."""
    cached = session.info.get(_TAIL)
    if cached is not None:
        return str(cached)
    bind = session.get_bind()
    # No autoflush: every audit row is written as `record` makes it (no ORM row of this table
    # waits in the session), and nothing else decides the tail.
    connection = session.connection()
    if bind.dialect.name == "postgresql":
        # The lock, then the read with a snapshot taken after it, in one round trip
        # (migration 0027's function).
        last = connection.execute(_PG_TAIL, {"key": _APPEND_LOCK}).scalar_one()
    else:
        last = connection.execute(_SQLITE_TAIL).scalar()
    return last or GENESIS


_PG_TAIL = text("SELECT servicedesk_audit_tail(:key)")
# SQLite transactions that write start with BEGIN IMMEDIATE (bot.db): the newest row read
# inside one stays the newest until it ends.
_SQLITE_TAIL = select(AuditEntry.row_hash).order_by(col(AuditEntry.id).desc()).limit(1)


def lock_and_tail(dialect: str) -> Any:
    """An expression that reads the chain's tail (on PostgreSQL after taking the append lock),
    for a statement that writes a record whose creation is audited next (services.inserts):
    the audit row then needs no round trip of its own to chain. Hand its value to
    `took_tail`."""
    if dialect == "postgresql":
        return func.servicedesk_audit_tail(literal(_APPEND_LOCK, BigInteger))
    return _SQLITE_TAIL.scalar_subquery()


def took_tail(session: Session, tail: str | None) -> None:
    """This transaction holds the append lock and read `tail` (None: no row yet) in a statement
    of its own making (`lock_and_tail`): the next `record` chains to it without reading.
    (`record` writes each row as it makes it, so what the statement read is the newest row,
    this transaction's own included.)"""
    session.info[_TAIL] = tail or GENESIS


def record(
    session: Session,
    *,
    key: str,
    actor: str,
    at: datetime,
    action: str,
    field: str | None = None,
    before: object = None,
    after: object = None,
    note: str | None = None,
) -> None:
    """Append one audit row for `key` (INC-3, CHG-7, …) in the caller's transaction, chained
    to the row before it."""
    content = {
        "record_key": key,
        "actor": actor,
        "at": at,
        "action": action,
        "field": field,
        "from_value": None if before is None else str(_text(before)),
        "to_value": None if after is None else str(_text(after)),
        "note": note,
    }
    prev_hash = _tail_hash(session)
    row_hash = chain_hash(prev_hash=prev_hash, **content)
    # Written now, by one prepared statement (no ORM row to build and flush): rows are
    # inserted in the order they are chained, so ids follow the chain.
    session.connection().execute(_INSERT, {**content, "prev_hash": prev_hash, "row_hash": row_hash})
    session.info[_TAIL] = row_hash


_INSERT = insert(AuditEntry.__table__)  # type: ignore[attr-defined]


def trail(session: Session, *, key: str) -> list[AuditEntry]:
    """Every audit row of one record, oldest first."""
    statement = (
        select(AuditEntry)
        .where(AuditEntry.record_key == key)
        .order_by(col(AuditEntry.at), col(AuditEntry.id))
    )
    return list(session.exec(statement))


@dataclass(frozen=True)
class ChainReport:
    """What `verify` found: every row checked, or the first one that does not match."""

    rows: int
    bad_id: int | None = None
    record_key: str | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.bad_id is None


_COLUMNS = (
    AuditEntry.id,
    AuditEntry.record_key,
    AuditEntry.actor,
    AuditEntry.at,
    AuditEntry.action,
    AuditEntry.field,
    AuditEntry.from_value,
    AuditEntry.to_value,
    AuditEntry.note,
    AuditEntry.prev_hash,
    AuditEntry.row_hash,
)


def _batches(session: Session, size: int) -> Iterator[list[Any]]:
    # Keyset pages of plain rows (no ORM objects kept in the session): memory stays flat
    # however long the trail is, and no cursor is held open across the whole walk.
    after = 0
    while True:
        page = list(
            session.execute(
                select(*_COLUMNS)
                .where(col(AuditEntry.id) > after)
                .order_by(col(AuditEntry.id))
                .limit(size)
            )
        )
        if not page:
            return
        yield page
        after = page[-1].id


def verify(session: Session, *, batch_size: int = 5000) -> ChainReport:
    """Walk the audit trail in id order and check every row's hash and its link to the row
    before it. Stops at the first row that does not match."""
    expected_prev, previous_id, rows = GENESIS, None, 0
    for page in _batches(session, batch_size):
        for entry in page:
            where = f"row {previous_id}" if previous_id is not None else "the start of the trail"
            if entry.row_hash is None or entry.prev_hash is None:
                problem = "it has no hash: it was written without the audit service"
            elif entry.prev_hash != expected_prev:
                problem = (
                    f"it does not chain to {where}: a row was removed or inserted before it, "
                    "or the row before it was rewritten together with its hash"
                )
            elif entry.row_hash != _hash_of(entry, entry.prev_hash):
                problem = "its content does not match its hash: the row was edited"
            else:
                expected_prev, previous_id, rows = entry.row_hash, entry.id, rows + 1
                continue
            return ChainReport(rows, bad_id=entry.id, record_key=entry.record_key, problem=problem)
    return ChainReport(rows)
