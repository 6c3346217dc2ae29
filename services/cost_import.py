"""`servicedesk cost import FILE`: costs from a CSV file with a header line naming the columns
`date` (YYYY-MM-DD), `service`, `amount`, `category` and optionally `note`. The file is checked
whole first; any bad row means nothing is imported and every bad row is reported by its line.
Then the rows go in with one multi-row INSERT and the budgets they touch are checked once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session

from models.budget import BudgetAlert, Cost
from models.policy import Policy
from services import audit, budgets
from services.errors import ServiceDeskError
from services.permissions import Actor
from services.row_errors import RowErrors
from services.tabular import FileError, RowError, csv_records, decode

REQUIRED = ("date", "service", "amount", "category")
MAX_ROWS = 100_000


@dataclass
class ImportReport(RowErrors):
    imported: int = 0
    alerts: list[BudgetAlert] = field(default_factory=list)


def _rows(text: str) -> list[tuple[int, dict[str, str]]]:
    rows = []
    for line, values in csv_records(text, REQUIRED):
        if len(rows) >= MAX_ROWS:
            raise FileError(line, f"more than {MAX_ROWS:,} rows; split the file")
        rows.append((line, values))
    return rows


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ServiceDeskError(f"'{text.strip()[:30]}' is not a date like 2026-11-27") from None


def import_file(
    session: Session, *, path: str | Path, actor: Actor, now: datetime, policy: Policy
) -> ImportReport:
    """Import the costs in the CSV file at `path`: all of them, or none with the errors."""
    path = Path(path)
    report = ImportReport()
    try:
        rows = _rows(decode(path))
    except FileError as error:
        report.errors.append(RowError(error.line, str(error)))
        return report
    if not rows:
        report.errors.append(RowError(1, "the file has no costs"))
        return report
    checked = []
    for line, values in rows:
        try:
            checked.append(
                budgets.check_cost(
                    policy,
                    session=session,
                    service=values.get("service"),
                    amount=values.get("amount"),
                    category=values.get("category"),
                    note=values.get("note"),
                    incurred_on=_day(values.get("date") or ""),
                    today=now.date(),
                )
            )
        except ServiceDeskError as error:
            report.refuse(line, str(error))
    if report.errors:
        return report
    source = f"import {path.name}"[:200]
    session.execute(
        insert(Cost),
        [
            {
                "service": c.service,
                "amount_cents": c.amount_cents,
                "category": c.category,
                "note": c.note,
                "incurred_on": c.incurred_on,
                "source": source,
                "recorded_by": actor.user_id,
                "recorded_at": now,
            }
            for c in checked
        ],
    )
    audit.record(
        session,
        key="COST-IMPORT",
        actor=actor.user_id,
        at=now,
        action="costs imported",
        after=str(len(checked)),
        note=source,
    )
    report.imported = len(checked)
    report.alerts = budgets.check_thresholds(
        session, policy=policy, touched={(c.service, c.incurred_on) for c in checked}, now=now
    )
    return report
