"""The evidence pack's CSV writer (raw DB-API cursor on SQLite, COPY on PostgreSQL) writes the
same cells as Python's csv module would: booleans as True/False, times as ISO 8601 UTC, text
with commas, quotes and line breaks intact, formulas quoted, a restricted incident's details
blanked; and it counts the rows, not the lines."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

from models.incident import Incident
from services.evidence_tables import write_table

START = datetime(2026, 1, 1, tzinfo=UTC)


def _incident(n: int, **values: object) -> Incident:
    at = START + timedelta(days=n)
    fields: dict[str, object] = {
        "title": f"Incident {n}",
        "description": "",
        "impact": "medium",
        "urgency": "medium",
        "priority": 3,
        "status": "new",
        "service": "payments",
        "team": "ops",
        "reporter": "U0REPORTER",
        "created_at": at,
        "updated_at": at,
    }
    return Incident(**(fields | values))


def test_the_incidents_csv_cells_read_back_as_written(database, tmp_path):  # type: ignore[no-untyped-def]
    with database.session() as session:
        session.add(_incident(1, title='Line one\nline "two", three', is_major=True))
        session.add(_incident(2, title="=SUM(A1)", description="Qwpzr", restricted=True))
        session.add(_incident(3, title="@cmd", acknowledged_at=START + timedelta(days=3, hours=1)))
        session.add(_incident(400, title="Next year"))  # outside the period
    path = tmp_path / "incidents.csv"
    with database.session() as session:
        count = write_table(
            session, path, Incident, "created_at", START, START + timedelta(days=365), []
        )
    assert count == 3
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["title"] for r in rows] == [
        'Line one\nline "two", three',
        "Restricted incident",
        "'@cmd",
    ]
    first, hidden, third = rows
    assert (first["is_major"], first["priority_overridden"], first["restricted"]) == (
        "True",
        "False",
        "False",
    )
    assert first["created_at"] == "2026-01-02T00:00:00+00:00"
    assert first["acknowledged_at"] == "" and first["priority"] == "3"
    assert hidden["restricted"] == "True"
    assert hidden["description"] == "" and hidden["service"] == ""
    assert "Qwpzr" not in path.read_text(encoding="utf-8")
    assert third["acknowledged_at"] == "2026-01-04T01:00:00+00:00"
    assert third["service"] == "payments"
