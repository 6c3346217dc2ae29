"""The auditor's evidence pack (`servicedesk evidence --from … --to … --out DIR`): a dated
folder (and a zip of it) with an index mapping each clause of ISO/IEC 20000-1 §4–9 to the
files that evidence it, CSVs of every record kind logged in the period, the monthly service
reports, the SMS (policy, objectives, owners, documents, reviews), internal audits,
nonconformities, improvements, budgets and costs, and the audit trail with its chain check.

Records are read in id order in batches (`yield_per`), so memory stays flat however many
there are; CSV cells that a spreadsheet would run as a formula are neutralised."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models.agreement import AgreementReview, AgreementVersion
from models.audit import AuditEntry
from models.availability import TestRun
from models.budget import BudgetAlert, Cost, period_range
from models.capacity import CapacityAlert, CapacityMeasurement
from models.change import Change, ChangeApproval
from models.cmdb import ConfigItem
from models.improvement import Improvement, InternalAudit, Nonconformity
from models.incident import Incident
from models.management_review import EffortEntry, ManagementReview, ManagementReviewAction
from models.policy import Policy
from models.problem import Problem
from models.relationship import (
    Complaint,
    Compliment,
    RelationshipReview,
    ReviewAction,
    SupplierWait,
    Survey,
)
from models.release import Release
from models.service_change import AcceptanceResult, ServiceChange
from models.service_request import RequestApproval, ServiceRequest
from models.sms import SmsItem, SmsReview
from services import audit, budgets, evidence_clauses, evidence_tables, sms, sms_reviews
from services.errors import InvalidInput
from services.evidence_clauses import EXTRA_CLAUSES
from services.reports import files
from services.reports.build import build_report, figures
from services.reports.figures import Figures
from services.reports.period import Period, month
from services.reports.registry import by_key
from services.reports.registry import sections as registered_sections
from services.reports.scope import Scope

MAX_DAYS = 3660

# clause: (title, files that evidence it); a file name ending in "/" is a folder.
CLAUSES: dict[str, tuple[str, list[str]]] = {
    "4.1": ("Management responsibility: policy, objectives, roles", ["4.1-sms.md"]),
    "4.3": (
        "Documentation management",
        ["4.3-documents.csv", "4.3-reviews.csv", "4.3-audit-trail.csv", "4.3-chain-check.txt"],
    ),
    "4.5": (
        "Establish and improve the SMS",
        [
            "4.5-internal-audits.csv",
            "4.5-nonconformities.csv",
            "4.5-improvements.csv",
            "4.5-management-reviews.csv",
            "4.5-management-review-actions.csv",
        ],
    ),
    "6.1": (
        "Service level management",
        ["6.1-agreement-versions.csv", "6.1-agreement-reviews.csv"],
    ),
    "6.2": ("Service reporting", ["6.2-reports/"]),
    "6.3": ("Service continuity and availability", ["6.3-availability.csv", "6.3-test-runs.csv"]),
    "5": (
        "Design and transition of new or changed services",
        ["5-service-changes.csv", "5-acceptance-results.csv"],
    ),
    "6.4": (
        "Budgeting and accounting",
        ["6.4-budgets.csv", "6.4-costs.csv", "6.4-budget-alerts.csv", "6.4-effort.csv"],
    ),
    "6.5": ("Capacity management", ["6.5-capacity-measurements.csv", "6.5-capacity-alerts.csv"]),
    "7.1": (
        "Business relationship management",
        [
            "7.1-surveys.csv",
            "7.1-complaints.csv",
            "7.1-compliments.csv",
            "7-service-reviews.csv",
            "7-review-actions.csv",
        ],
    ),
    "7.2": ("Supplier management", ["7.2-supplier-waits.csv", "7-service-reviews.csv"]),
    "8.1": (
        "Incident and service request management",
        ["8.1-incidents.csv", "8.1-service-requests.csv", "8.1-request-approvals.csv"],
    ),
    "8.2": ("Problem management", ["8.2-problems.csv"]),
    "9.1": ("Configuration management", ["9.1-configuration-items.csv"]),
    "9.2": ("Change management", ["9.2-changes.csv", "9.2-change-approvals.csv"]),
    "9.3": ("Release and deployment management", ["9.3-releases.csv"]),
}
CLAUSES |= EXTRA_CLAUSES  # 4.2, 4.4 and 6.6: services/evidence_clauses.py

# file: (table, the column the period filters on; None: every row, e.g. the CMDB as it is)
TABLES: dict[str, tuple[type[Any], str | None]] = {
    "4.3-documents.csv": (SmsItem, None),
    "4.3-reviews.csv": (SmsReview, "recorded_at"),
    "4.3-audit-trail.csv": (AuditEntry, "at"),
    "4.5-internal-audits.csv": (InternalAudit, "created_at"),
    "4.5-nonconformities.csv": (Nonconformity, "created_at"),
    "4.5-improvements.csv": (Improvement, "created_at"),
    "4.5-management-reviews.csv": (ManagementReview, "created_at"),
    "4.5-management-review-actions.csv": (ManagementReviewAction, None),
    "6.1-agreement-versions.csv": (AgreementVersion, None),
    "6.1-agreement-reviews.csv": (AgreementReview, "recorded_at"),
    "6.3-test-runs.csv": (TestRun, "due_at"),
    "6.4-costs.csv": (Cost, "recorded_at"),
    "6.4-budget-alerts.csv": (BudgetAlert, "alerted_at"),
    "6.4-effort.csv": (EffortEntry, "logged_at"),
    "5-service-changes.csv": (ServiceChange, None),
    "5-acceptance-results.csv": (AcceptanceResult, "recorded_at"),
    "6.5-capacity-measurements.csv": (CapacityMeasurement, "at"),
    "6.5-capacity-alerts.csv": (CapacityAlert, "raised_at"),
    "7.1-surveys.csv": (Survey, "created_at"),
    "7.1-complaints.csv": (Complaint, "created_at"),
    "7.1-compliments.csv": (Compliment, "created_at"),
    "7-service-reviews.csv": (RelationshipReview, "recorded_at"),
    "7-review-actions.csv": (ReviewAction, None),
    "7.2-supplier-waits.csv": (SupplierWait, "set_at"),
    "8.1-incidents.csv": (Incident, "created_at"),
    "8.1-service-requests.csv": (ServiceRequest, "submitted_at"),
    "8.1-request-approvals.csv": (RequestApproval, "at"),
    "8.2-problems.csv": (Problem, "created_at"),
    "9.1-configuration-items.csv": (ConfigItem, None),
    "9.2-changes.csv": (Change, "created_at"),
    "9.2-change-approvals.csv": (ChangeApproval, "decided_at"),
    "9.3-releases.csv": (Release, "created_at"),
}


@dataclass
class Pack:
    folder: Path
    zip_path: Path
    rows: dict[str, int] = field(default_factory=dict)
    chain_ok: bool = True


def parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"--{what} '{text[:30]}' is not a date like 2026-01-01.") from None


def _restricted_keys(session: Session) -> list[str]:
    """Restricted incidents' keys: few, read once per pack."""
    ids = session.exec(select(Incident.id).where(col(Incident.restricted)).order_by(Incident.id))
    return [f"INC-{number}" for number in ids]


def _sms_text(session: Session, policy: Policy, now: datetime) -> str:
    period, measured = sms.measure_objectives(session, policy=policy, now=now)
    lines = [
        "# Service management system",
        "",
        f"Policy owner: {policy.sms.policy_owner or '—'}",
        "",
        policy.sms.policy or "(no policy text in [sms])",
        "",
        f"## Objectives (measured {sms.quarter_label(period)} so far)",
        "",
    ]
    for found in measured:
        target = (
            f" target ≥ {found.objective.target:g} %" if found.objective.target is not None else ""
        )
        value = f"{found.value:.1f} % ({found.basis})" if found.value is not None else found.basis
        lines.append(f"- {found.objective.name}:{target}: {value}; owner {found.objective.owner}")
    lines += ["", "## Process owners", ""]
    lines += [f"- {label}: {owner or 'unassigned'}" for label, owner in sms.process_owners(policy)]
    return "\n".join(lines) + "\n"


def _budgets_csv(session: Session, policy: Policy) -> tuple[str, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["service", "period", "budget", "actual", "percent", "owner"])
    count = 0
    for period in sorted({b.period for b in policy.sms.budgets}):
        for found in budgets.status(
            session, policy=policy, on=period_range(period)[0], period=period
        ):
            writer.writerow(
                evidence_tables.cells(
                    [
                        found.service,
                        period,
                        found.budget.amount,
                        found.actual,
                        found.shown_percent,
                        found.owner,
                    ]
                )
            )
            count += 1
    return buffer.getvalue(), count


def _availability_csv(found: Figures) -> tuple[str, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["service", "availability_percent", "downtime_hours", "outages", "mtbf_hours", "mtrs_hours"]
    )
    for uptime in found.availability:
        hours = [None if v is None else f"{v / 3600:.2f}" for v in (uptime.mtbf_s, uptime.mtrs_s)]
        writer.writerow(
            evidence_tables.cells(
                [
                    uptime.service,
                    f"{uptime.percent:.3f}",
                    f"{uptime.downtime_s / 3600:.2f}",
                    uptime.outages,
                    *hours,
                ]
            )
        )
    return buffer.getvalue(), len(found.availability)


def _months(start: date, end: date) -> list[Period]:
    """Every calendar month overlapping [start, end)."""
    out = []
    current = month(start)
    while current.start.date() < end:
        out.append(current)
        current = month(current.end)
    return out


def write_pack(
    session: Session, *, policy: Policy, first: date, last: date, out_dir: Path, now: datetime
) -> Pack:
    """Write the evidence pack of the days `first`..`last` (both included) under `out_dir`."""
    if last < first:
        raise InvalidInput("--to is before --from.")
    if (last - first).days > MAX_DAYS:
        raise InvalidInput("An evidence pack covers at most ten years.")
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    folder = out_dir / f"evidence-{first.isoformat()}_{last.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    pack = Pack(folder=folder, zip_path=folder.with_suffix(".zip"))
    sms_reviews.standing(session, policy=policy, now=now)
    (folder / "4.1-sms.md").write_text(_sms_text(session, policy, now), encoding="utf-8")
    pack.rows["4.1-sms.md"] = 1
    restricted = _restricted_keys(session)
    for name, (model, column) in TABLES.items():
        pack.rows[name] = evidence_tables.write_table(
            session, folder / name, model, column, start, end, restricted
        )
    pack.rows.update(evidence_clauses.write(session, policy, folder, start, end))
    text, pack.rows["6.4-budgets.csv"] = _budgets_csv(session, policy)
    (folder / "6.4-budgets.csv").write_text(text, encoding="utf-8")
    whole = Period(start=start, end=end, kind="range")
    found = figures(
        session, policy, Scope(kind="all"), whole, now, by_key("availability"), detail=False
    )
    text, pack.rows["6.3-availability.csv"] = _availability_csv(found)
    (folder / "6.3-availability.csv").write_text(text, encoding="utf-8")
    chain = audit.verify(session)
    pack.chain_ok = chain.ok
    verdict = (
        f"audit trail OK: {chain.rows} rows, hash chain intact\n"
        if chain.ok
        else f"audit trail BROKEN at row {chain.bad_id} ({chain.record_key}): {chain.problem}\n"
    )
    (folder / "4.3-chain-check.txt").write_text(verdict, encoding="utf-8")
    pack.rows["4.3-chain-check.txt"] = 1
    pack.rows["6.2-reports/"] = _monthly_reports(
        session, policy, _months(first, end.date()), now, folder / "6.2-reports"
    )
    (folder / "index.md").write_text(_index(pack, first, last, now), encoding="utf-8")
    _zip(folder, pack.zip_path)
    return pack


def _monthly_reports(
    session: Session, policy: Policy, months: list[Period], now: datetime, out_dir: Path
) -> int:
    """Each month's service report (Markdown and CSV) by `build_report`, each month's figures
    computed once: a month's are handed on as the next month's "previous"."""
    chosen = tuple(registered_sections())
    scope = Scope(kind="all")
    previous = figures(session, policy, scope, months[0].previous(), now, chosen, detail=False)
    written = 0
    for period in months:
        report = build_report(
            session, policy, scope, period, now, sections=chosen, previous=previous
        )
        # The records behind the figures are the clauses' own CSVs (8.1-incidents.csv, …):
        # written once for the pack, not again per month.
        written += len(
            files.write(session, report, formats=["md", "csv"], out_dir=out_dir, records=False)
        )
        previous = report.current
    return written


def _index(pack: Pack, first: date, last: date, now: datetime) -> str:
    lines = [
        f"# Evidence pack, {first.isoformat()} to {last.isoformat()}",
        "",
        f"Written {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC by servicedesk. Times are UTC.",
        "",
        "| clause | what | files (rows) |",
        "|---|---|---|",
    ]
    rows: dict[str, str] = {}
    for clause, (title, names) in CLAUSES.items():
        listed = ", ".join(f"`{name}` ({pack.rows.get(name, 0)})" for name in names)
        rows[clause] = f"| {clause} | {title} | {listed} |"
    # In the standard's order: 4.1 … 4.5, 5, 6.1 … 9.3.
    lines += [rows[c] for c in sorted(rows, key=lambda c: [int(n) for n in c.split(".")])]
    return "\n".join(lines) + "\n"


def _zip(folder: Path, target: Path) -> None:
    # Level 1: a year's CSVs compress nearly as well and several times faster.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent))
