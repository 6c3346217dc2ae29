"""The evidence pack's tables as CSV files (services/evidence.py decides which tables and
periods): the database renders every cell, rows are streamed in batches, formula starts are
quoted, and a restricted (security) incident is counted but not described."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    String,
    Text,
    TypeDecorator,
    case,
    func,
    literal,
    type_coerce,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session

from models.audit import AuditEntry
from models.budget import cents_to_money
from models.incident import Incident
from models.relationship import SupplierWait, Survey
from services.tabular import FORMULA_START, neutralise_cell

BATCH = 5000
# A restricted (security) incident is counted in the pack but not described: these columns
# are blanked in its row, and in its audit rows the values and notes.
REDACTED_INCIDENT = dict.fromkeys(
    (
        "description",
        "service",
        "category",
        "team",
        "agreement",
        "assignee",
        "reporter",
        "resolution_code",
        "resolution_note",
        "hold_reason",
        "channel_id",
        "message_ts",
        "redacted_channel_id",
        "redacted_ts",
    )
) | {"title": "Restricted incident"}
REDACTED_AUDIT = dict.fromkeys(("from_value", "to_value", "note"))
# Tables whose rows belong to a record by its key: what they blank for a restricted incident.
REDACTED_BY_RECORD: dict[type[Any], dict[str, str | None]] = {
    AuditEntry: REDACTED_AUDIT,
    Survey: dict.fromkeys(("service", "team", "customer", "comment")),
    SupplierWait: dict.fromkeys(("ticket_ref",)),
}
# Bookkeeping columns an auditor has no use for.
SKIPPED = {"claimed_at", "claimed_by", "message_version", "rendered_version", "submission_id"}


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a number is never read as a formula
    return neutralise_cell(str(value))


def cells(values: Iterable[Any]) -> list[str]:
    return [cell(value) for value in values]


def _rendered(column: Any, dialect: str) -> Any:
    """The column as the CSV cell, computed by the database: times as ISO 8601 UTC
    (2026-01-05T10:00:00+00:00), text with a quote before a formula start (as
    `neutralise_cell`); anything else (numbers, dates) as it is."""
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    if isinstance(kind, DateTime):
        if dialect == "postgresql":
            shown = func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')
        else:
            shown = func.strftime("%Y-%m-%dT%H:%M:%S+00:00", column)
        return type_coerce(shown, String).label(column.name)
    if isinstance(kind, (String, Text)):
        risky = func.substr(column, 1, 1).in_([*FORMULA_START, "'"])
        quoted = case((risky, literal("'", String) + column), else_=column)
        return type_coerce(quoted, String).label(column.name)
    if isinstance(kind, Boolean):
        # As Python writes a bool: the raw cursor gives 0/1 (SQLite) or t/f (COPY).
        said = case((column, literal("True", String)), (~column, literal("False", String)))
        return type_coerce(said, String).label(column.name)
    return column


def write_table(
    session: Session,
    path: Path,
    model: type[Any],
    column: str | None,
    start: datetime,
    end: datetime,
    restricted: list[str],
) -> int:
    """One table's rows as CSV, streamed: the database renders every cell (times, quoted
    formulas) and the rows are written `BATCH` at a time as they come, with no ORM objects
    and no per-cell Python, so a million incidents take one pass and flat memory."""
    table: Any = model.__table__
    columns = [c for c in table.columns if c.name not in SKIPPED]
    names = [c.name for c in columns]
    dialect = session.get_bind().dialect.name
    shown = [_rendered(c, dialect) for c in columns]
    # Restricted (security) incidents are counted but not described: the database blanks
    # their details, and the values and notes of their audit rows.
    hidden: Any = None
    blank: dict[str, str | None] = {}
    if model is Incident:
        hidden, blank = table.c.restricted, REDACTED_INCIDENT
    elif model in REDACTED_BY_RECORD and restricted:
        hidden, blank = table.c.record_key.in_(restricted), REDACTED_BY_RECORD[model]
    if hidden is not None:
        shown = [
            type_coerce(case((hidden, literal(blank[c.name], String)), else_=cell), String).label(
                c.name
            )
            if c.name in blank
            else cell
            for c, cell in zip(columns, shown, strict=True)
        ]
    statement = sa_select(*shown).order_by(*table.primary_key.columns)
    if column is not None:
        moment = table.c[column]
        statement = statement.where(moment >= start, moment < end)
    money = "amount_cents" in names
    at = names.index("amount_cents") if money else -1
    header = [*names, *(["amount"] if money else [])]
    if (
        dialect == "postgresql"
        and not money
        and not any(isinstance(c.type, Float) for c in columns)
    ):
        return _copy_out(session, path, statement, header)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for batch in _batches(session, statement, dialect):
            if money:
                writer.writerows([*row, cents_to_money(row[at])] for row in batch)
            else:
                writer.writerows(batch)
            count += len(batch)
    return count


def _batches(session: Session, statement: Any, dialect: str) -> Iterable[Any]:
    """The rows, `BATCH` at a time. On SQLite straight from the DB-API cursor: every cell is
    already the text the CSV wants, so SQLAlchemy's row objects would only cost time (and
    no yield_per, whose buffering would take the first rows off that cursor)."""
    if dialect == "sqlite":
        cursor = session.execute(statement).cursor
        while batch := cursor.fetchmany(BATCH):
            yield batch
        return
    yield from session.execute(statement.execution_options(yield_per=BATCH)).partitions()


def _copy_out(session: Session, path: Path, statement: Any, header: list[str]) -> int:
    """PostgreSQL writes the CSV itself (COPY … TO STDOUT): the rows never become Python
    objects. Its CSV differs from Python's only in line ends (LF) and in quoting an empty
    text cell (""), both read back the same by any CSV reader."""
    bind = session.get_bind()
    compiled = statement.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True})
    cursor = session.connection().connection.driver_connection.cursor()
    with path.open("wb") as handle:
        handle.write((",".join(header) + "\n").encode())
        with cursor.copy(f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)") as copy:
            for chunk in copy:
                handle.write(chunk)
        count = cursor.rowcount
    cursor.close()
    return count
