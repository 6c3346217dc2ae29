"""`servicedesk evidence`: the pack is a dated folder and a zip; its index maps every clause
the bot covers to files, and each of those clauses has at least one file with data; CSVs
neutralise formula cells; bad dates are one line, exit 1."""

from __future__ import annotations

import argparse
import csv
import io
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.admin_commands import evidence_command
from bot.policy import parse_policy
from services import (
    audits,
    budgets,
    effort,
    improvements,
    incidents,
    management_reviews,
    nonconformities,
)
from services.evidence import CLAUSES
from services.permissions import Actor, Role
from tests.handlers.test_permission_matrix import MATRIX_POLICY, World
from tests.permissions_support import editor
from tests.sms.test_audits import AUDITS

AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))
POLICY = (
    MATRIX_POLICY.replace("[channels]", '[channels]\nsecurity = "C0SECURITY"')
    + AUDITS
    + """
[[sms.objectives]]
name = "P1 resolution within target"
target = 95
measure = "resolution.P1"
owner = "U0QUALITY"

[[sms.budgets]]
service = "payments"
period = "2026"
amount = "1000"

[sms.management_review]
owner = "U0OWNER"
first = 2026-11-27

[[suppliers]]
name = "acme-cloud"
services = ["payments"]
contract = "ACME-2026-7"

[[capacity]]
item = "payments"
metric = "cpu"
unit = "%"
warning = 70
critical = 90
"""
)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(POLICY)


def _records(database, clock, policy, slack=None, fake_slack=None) -> None:  # type: ignore[no-untyped-def]
    from models.incident import IncidentInput, Level
    from services import cmdb

    world = World(slack, fake_slack, database, clock, policy)
    world.problem("resolved")
    world.request("fulfilled")
    world.release("tested")
    world.test_run()
    with database.session() as session:
        cmdb.create_item(
            session, name="db-01", type="database", actor=editor("U0ADMIN"), now=clock.now()
        )
    with database.session() as session:
        incident, _ = incidents.create(
            session,
            data=IncidentInput(
                title="=HYPERLINK(evil)", impact=Level.HIGH, urgency=Level.HIGH, service="payments"
            ),
            reporter="U0REPORTER",
            now=clock.now(),
            policy=policy,
        )
        incidents.create(
            session,
            data=IncidentInput(
                title="Leaked key on laptop-77",
                impact=Level.HIGH,
                urgency=Level.HIGH,
                service="payments",
                security=True,
            ),
            reporter="U0REPORTER",
            now=clock.now(),
            policy=policy,
        )
        budgets.record_cost(
            session,
            service="payments",
            amount="900",
            category="hosting",
            note="cloud",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
        audits.sweep(session, now=clock.now(), policy=policy)
        audits.start(session, key="AUD-1", actor=AGENT, now=clock.now())
        nonconformities.raise_nc(
            session,
            title="No minutes",
            description="",
            owner="U0OWNER",
            source="AUD-1",
            actor=AGENT,
            now=clock.now(),
        )
        improvements.propose(
            session,
            title="Faster CAB",
            description="",
            process="change",
            actor=Actor("U0ANYONE"),
            now=clock.now(),
            policy=policy,
        )
        effort.log(
            session,
            key=incident.key,
            spent="45m",
            note="triage",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
        (review,) = management_reviews.sweep(session, now=clock.now(), policy=policy)
        management_reviews.record(
            session,
            key=review,
            held_on=clock.now().date(),
            attendees=["U0OWNER"],
            decisions="Keep the targets",
            actions=[management_reviews.AgreedAction("Hire", "U0OWNER", clock.now().date())],
            actor=Actor("U0OWNER"),
            now=clock.now(),
            policy=policy,
        )
        _relationships_capacity_and_service_changes(session, clock, policy)
    clock.advance(timedelta(hours=2))


def _relationships_capacity_and_service_changes(session, clock, policy) -> None:  # type: ignore[no-untyped-def]
    """A survey answered, a complaint, a compliment, a customer's service review with an
    action, a capacity measurement that crosses its warning, and a proposed new service."""
    from models.relationship import PartyKind, Survey
    from models.service_change import ServiceChangeInput
    from services import capacity, complaints, relationship_reviews, service_changes

    now = clock.now()

    # A survey as the survey sweep leaves it once answered (its flow: tests/relationships).
    session.add(
        Survey(
            record_key="REQ-1",
            recipient="U0REQUESTER",
            service="payments",
            status="answered",
            created_at=now,
            score=4,
            comment="Quick",
            answered_at=now,
        )
    )
    complaints.raise_complaint(
        session,
        summary="Slow refunds",
        description="",
        service="payments",
        actor=Actor("U0CUSTOMER"),
        now=now,
        policy=policy,
    )
    complaints.compliment(
        session,
        text="Quick fix",
        service="payments",
        actor=Actor("U0CUSTOMER"),
        now=now,
        policy=policy,
    )
    relationship_reviews.record_review(
        session,
        kind=PartyKind.CUSTOMER,
        name="Retail",
        reviewed_on=now.date(),
        attendees=["U0OWNER"],
        outcome="Targets kept",
        actions=[relationship_reviews.AgreedAction("Send figures", "U0OWNER", now.date())],
        actor=Actor("U0OWNER"),
        now=now,
        policy=policy,
    )
    capacity.record(
        session, policy=policy, item="payments", metric="cpu", value=75, at=None, now=now
    )
    service_changes.propose(
        session,
        data=ServiceChangeInput(
            action="new",
            service="billing",
            team="platform",
            requirements="Invoices",
            design="A worker",
            criteria="Invoices issued",
            risk="low",
            planned_start=now + timedelta(days=1),
            planned_end=now + timedelta(days=1, hours=2),
            backout_plan="Switch it off",
        ),
        requester="U0REQUESTER",
        now=now,
        policy=policy,
    )


def _run(database, policy, clock, out: Path, first: str, last: str, capsys):  # type: ignore[no-untyped-def]
    args = argparse.Namespace(first=first, last=last, out=str(out))
    code = evidence_command(args, database, policy, clock.now())
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_pack_has_evidence_behind_every_clause_it_lists(
    ctx, slack, fake_slack, database, clock, policy, tmp_path, capsys
):
    _records(database, clock, policy, slack, fake_slack)
    code, out = _run(database, policy, clock, tmp_path, "2026-01-01", "2026-12-31", capsys)
    assert code == 0, out
    folder = tmp_path / "evidence-2026-01-01_2026-12-31"
    assert f"evidence pack written: {folder}" in out
    with zipfile.ZipFile(tmp_path / "evidence-2026-01-01_2026-12-31.zip") as archive:
        names = archive.namelist()
        read = {name.split("/", 1)[1]: archive.read(name).decode() for name in names}
    index = read["index.md"]
    for clause, (_title, files) in CLAUSES.items():
        assert f"| {clause} |" in index
        with_data = []
        for wanted in files:
            if wanted.endswith("/"):
                inside = [n for n in read if n.startswith(wanted) and read[n].strip()]
                with_data += inside
            elif wanted.endswith(".csv"):
                rows = list(csv.reader(io.StringIO(read[wanted])))
                if len(rows) > 1:
                    with_data.append(wanted)
            elif read[wanted].strip():
                with_data.append(wanted)
        assert with_data, f"clause {clause} has no file with data: {files}"
    assert "not recorded" not in index
    # Every clause of §4–9 the standard has is mapped to files with data, none left out.
    wanted = {"4.1", "4.2", "4.3", "4.4", "4.5", "5", "6.1", "6.2", "6.3", "6.4", "6.5", "6.6"}
    wanted |= {"7.1", "7.2", "8.1", "8.2", "9.1", "9.2", "9.3"}
    assert wanted <= set(CLAUSES)
    incidents_csv = list(csv.reader(io.StringIO(read["8.1-incidents.csv"])))
    title = incidents_csv[0].index("title")
    assert incidents_csv[1][title] == "'=HYPERLINK(evil)"  # a spreadsheet shows it as text
    costs = list(csv.DictReader(io.StringIO(read["6.4-costs.csv"])))
    assert (costs[0]["amount"], costs[0]["amount_cents"]) == ("900.00", "90000")
    assert "payments,2026,1000.00,900.00,90.0 %" in read["6.4-budgets.csv"]
    assert read["4.3-chain-check.txt"].startswith("audit trail OK")
    assert "P1 resolution within target" in read["4.1-sms.md"]
    assert any(n.startswith("6.2-reports/") and n.endswith(".md") for n in read)
    assert "AUD-1" in read["4.5-nonconformities.csv"]
    assert "Keep the targets" in read["4.5-management-reviews.csv"]
    assert "Objective attainment" in read["4.5-management-reviews.csv"]  # the inputs kept
    assert "Hire" in read["4.5-management-review-actions.csv"]
    assert "45" in read["6.4-effort.csv"] and "triage" in read["6.4-effort.csv"]
    assert "acme-cloud,payments,,ACME-2026-7" in read["4.2-suppliers.csv"]
    assert "team,platform" in read["4.4-resources.csv"]
    assert "capacity requirement,payments cpu" in read["4.4-resources.csv"]
    security = list(csv.DictReader(io.StringIO(read["6.6-security.csv"])))
    assert {
        "kind": "restricted incidents",
        "key": "",
        "status": "new",
        "count": "1",
        "detail": "details withheld",
    } in security
    # The restricted incident stays redacted in every file of the pack.
    assert not any("laptop-77" in text for text in read.values())


@pytest.mark.parametrize(
    ("first", "last", "problem"),
    [
        ("2026-02-30", "2026-12-31", "--from '2026-02-30' is not a date"),
        ("2026-01-01", "yesterday", "--to 'yesterday' is not a date"),
        ("2026-12-31", "2026-01-01", "--to is before --from"),
        ("2000-01-01", "2026-01-01", "at most ten years"),
    ],
)
def test_bad_periods_are_one_line_and_write_nothing(
    ctx, database, clock, policy, tmp_path, capsys, first, last, problem
):
    code, out = _run(database, policy, clock, tmp_path / "out", first, last, capsys)
    assert code == 1 and problem in out and "Traceback" not in out
    assert not (tmp_path / "out").exists()


def test_records_outside_the_period_are_left_out(ctx, database, clock, policy, tmp_path, capsys):
    _records(database, clock, policy)
    code, _ = _run(database, policy, clock, tmp_path, "2025-01-01", "2025-12-31", capsys)
    assert code == 0
    folder = tmp_path / "evidence-2025-01-01_2025-12-31"
    rows = list(csv.reader((folder / "8.1-incidents.csv").open(encoding="utf-8")))
    assert len(rows) == 1  # the header only
    assert date(2025, 12, 1).strftime("%Y-%m") in " ".join(
        p.name for p in (folder / "6.2-reports").iterdir()
    )


def test_the_index_lists_the_clauses_in_the_standards_order(
    ctx, database, clock, policy, tmp_path, capsys
):
    code, out = _run(database, policy, clock, tmp_path, "2026-01-01", "2026-12-31", capsys)
    assert code == 0, out
    index = (tmp_path / "evidence-2026-01-01_2026-12-31" / "index.md").read_text()
    listed = [line.split("|")[1].strip() for line in index.splitlines() if line.startswith("| ")]
    assert listed[1:] == [
        "4.1", "4.2", "4.3", "4.4", "4.5", "5", "6.1", "6.2", "6.3", "6.4", "6.5", "6.6",
        "7.1", "7.2", "8.1", "8.2", "9.1", "9.2", "9.3",
    ]  # fmt: skip
