"""The evidence pack counts a restricted incident but does not describe it: its row in the
incidents CSV and its rows in the audit trail CSV carry its key and times, not its details."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from bot.admin_commands import evidence_command
from models.relationship import SupplierWait, Survey
from tests.security.conftest import SEC1, SECURITY_CHANNEL, incident, log

TITLE = "Zyxqv vault keys leaked"


def test_the_pack_counts_a_restricted_incident_without_its_details(
    slack, fake_slack, database, clock, policy, tmp_path: Path, capsys
):
    log(slack, fake_slack, title=TITLE, description="Qwpzr HSM")
    log(slack, fake_slack, title="Printer jam", security=False)
    found = incident(database)
    message = fake_slack.message(SECURITY_CHANNEL, found.message_ts)
    slack.click(message, "incident_acknowledge", user_id=SEC1, channel_id=SECURITY_CHANNEL)
    with database.session() as session:  # what the survey sweep and a supplier hold leave
        for key in ("INC-1", "INC-2"):
            session.add(
                Survey(
                    record_key=key,
                    recipient="U0REPORTER",
                    service="payments",
                    status="answered",
                    created_at=clock.now(),
                    score=1,
                    comment="Qwpzr" if key == "INC-1" else "Fine",
                    answered_at=clock.now(),
                )
            )
            session.add(
                SupplierWait(
                    record_key=key,
                    supplier="Acme",
                    ticket_ref="Zyxqv" if key == "INC-1" else "T-2",
                    set_by="U0AGENT",
                    set_at=clock.now(),
                )
            )
    args = argparse.Namespace(first="2026-01-01", last="2026-12-31", out=str(tmp_path))
    assert evidence_command(args, database, policy, clock.now()) == 0, capsys.readouterr()
    folder = tmp_path / "evidence-2026-01-01_2026-12-31"
    rows = list(csv.DictReader(io.StringIO((folder / "8.1-incidents.csv").read_text())))
    assert [r["title"] for r in rows] == ["Restricted incident", "Printer jam"]
    hidden = rows[0]
    assert hidden["description"] == "" and hidden["service"] == "" and hidden["assignee"] == ""
    assert rows[1]["service"] == "payments"
    everything = "".join(p.read_text() for p in folder.iterdir() if p.suffix in (".csv", ".md"))
    for secret in ("Zyxqv", "Qwpzr"):
        assert secret not in everything
    trail = list(csv.DictReader(io.StringIO((folder / "4.3-audit-trail.csv").read_text())))
    surveys = list(csv.DictReader(io.StringIO((folder / "7.1-surveys.csv").read_text())))
    assert [(r["record_key"], r["comment"], r["service"]) for r in surveys] == [
        ("INC-1", "", ""),
        ("INC-2", "Fine", "payments"),
    ]
    waits = list(csv.DictReader(io.StringIO((folder / "7.2-supplier-waits.csv").read_text())))
    assert [(r["record_key"], r["ticket_ref"]) for r in waits] == [
        ("INC-1", ""),
        ("INC-2", "T-2"),
    ]
    acknowledged = [r for r in trail if r["record_key"] == "INC-1" and r["field"] == "assignee"]
    assert acknowledged and acknowledged[0]["to_value"] == ""  # who works it is not said
