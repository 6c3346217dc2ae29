"""`servicedesk capacity import FILE`: measurements from a CSV file whose header names the
columns `item`, `metric`, `value` and `at`. Unlike the CMDB and cost imports, good rows are
kept when others are bad: a measurement stands on its own. Every bad row (a line that is not
UTF-8, an unknown item or metric, a value or time that does not read) is reported by its line.
The good rows go in a thousand to a statement (a row stored before is skipped), then each
metric they touch is evaluated once, against its latest measurements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from models.capacity import CapacityAlert
from models.capacity_policy import CapacityRequirement
from models.policy import Policy
from services import audit, capacity
from services.errors import ServiceDeskError
from services.permissions import SYSTEM
from services.row_errors import RowErrors
from services.tabular import MAX_FILE_BYTES, FileError, csv_records

REQUIRED = ("item", "metric", "value", "at")
MAX_ROWS = 1_000_000


@dataclass
class ImportReport(RowErrors):
    stored: int = 0
    duplicates: int = 0
    alerts: list[CapacityAlert] = field(default_factory=list)


def _lines(raw: bytes, report: ImportReport) -> str:
    """The file's text, line by line: a line that is not UTF-8 is reported and left empty (so
    the lines after it keep their numbers), the rest are kept."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    kept = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            kept.append(line.decode("utf-8"))
        except UnicodeDecodeError as error:
            report.refuse(
                number,
                f"not UTF-8 text (byte 0x{line[error.start]:02x} at column {error.start + 1}); "
                "the row was skipped",
            )
            kept.append("")
    return "\n".join(kept)


def import_file(
    session: Session, *, path: str | Path, policy: Policy, now: datetime
) -> ImportReport:
    """Store the measurements in the CSV file at `path` (every good row), evaluate the metrics
    they touch, and report the bad rows by line."""
    path = Path(path)
    report = ImportReport()
    if path.stat().st_size > MAX_FILE_BYTES:
        report.refuse(1, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB")
        return report
    rows: list[dict[str, object]] = []
    touched: dict[tuple[str, str], CapacityRequirement] = {}
    source = f"import {path.name}"[:200]
    try:
        for line, values in csv_records(_lines(path.read_bytes(), report), REQUIRED):
            if len(rows) >= MAX_ROWS:
                report.refuse(line, f"more than {MAX_ROWS:,} rows; the rest were not read")
                break
            try:
                required = capacity.requirement(
                    policy, item=values.get("item") or "", metric=values.get("metric") or ""
                )
                rows.append(
                    {
                        "item": required.key[0],
                        "metric": required.metric,
                        "at": capacity.parse_at(values.get("at") or "", now=now),
                        "value": capacity.parse_value(values.get("value") or "", from_text=True),
                        "source": source,
                        "recorded_at": now,
                    }
                )
            except ServiceDeskError as error:
                report.refuse(line, str(error))
                continue
            touched[required.key] = required
    except FileError as error:
        # A header without the columns, or a line the csv module cannot read: the rows
        # before it are kept.
        report.refuse(error.line, f"{error}; the rest was not read" if rows else str(error))
    report.stored = capacity.store(session, rows) if rows else 0
    report.duplicates = len(rows) - report.stored
    if report.stored:
        audit.record(
            session,
            key="CAP-IMPORT",
            actor=SYSTEM.user_id,
            at=now,
            action="capacity measurements imported",
            after=str(report.stored),
            note=source,
        )
    for required in touched.values():
        report.alerts += capacity.evaluate(
            session, policy=policy, required=required, now=now
        ).alerts
    return report
