"""The evidence pack's files for clauses 4.2 (processes operated by other parties), 4.4
(resource management) and 6.6 (information security management), kept apart from
services/evidence.py's record tables. Each writer returns the CSV text and its data rows.

Restricted (security) incidents are counted here, never described: no title, service or
people, only how many there are in each status."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.audit import AuditEntry
from models.change import KEY_PREFIX as CHANGE_PREFIX
from models.change import Change, ChangeApproval
from models.incident import KEY_PREFIX as INCIDENT_PREFIX
from models.incident import Incident
from models.policy import Policy
from services import service_list
from services.tabular import neutralise_cell

# clause: (title, files that evidence it); several are shared with the clauses they rest on.
EXTRA_CLAUSES: dict[str, tuple[str, list[str]]] = {
    "4.2": (
        "Governance of processes operated by other parties",
        ["4.2-suppliers.csv", "7.2-supplier-waits.csv", "7-service-reviews.csv"],
    ),
    "4.4": (
        "Management of resources: people, budgets, capacity",
        [
            "4.4-resources.csv",
            "6.4-budgets.csv",
            "6.4-costs.csv",
            "6.4-effort.csv",
            "6.5-capacity-measurements.csv",
        ],
    ),
    "6.6": ("Information security management", ["6.6-security.csv"]),
}


def _csv(header: list[str], rows: Iterable[Iterable[Any]]) -> tuple[str, int]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([neutralise_cell("" if v is None else str(v)) for v in row])
        count += 1
    return out.getvalue(), count


def suppliers_csv(policy: Policy) -> tuple[str, int]:
    """The parties the policy names as operating parts of the services, with their contracts."""
    return _csv(
        [
            "supplier",
            "services",
            "items",
            "contract",
            "contract_end",
            "response_target",
            "resolution_target",
            "contact",
        ],
        (
            [
                s.name,
                ";".join(s.services),
                ";".join(s.items),
                s.contract,
                s.contract_end.isoformat() if s.contract_end else "",
                s.response_target or "",
                s.resolution_target or "",
                s.contact,
            ]
            for s in policy.suppliers
        ),
    )


def resources_csv(session: Session, policy: Policy) -> tuple[str, int]:
    """People as resources: each team and service with its lead and on-call, and the
    capacity requirements the policy sets."""
    rows: list[list[Any]] = []
    for team in policy.teams:
        ladder = ";".join(team.escalation_ladder)
        rows.append(["team", team.name, "", team.lead or "", team.on_call or "", ladder])
    for service in service_list.offered(session, policy=policy):  # with those added at run time
        rows.append(["service", service.name, service.team, "", service.on_call or "", ""])
    for need in policy.capacity:
        limits = f"warning {need.warning} {need.unit}; critical {need.critical} {need.unit}"
        rows.append(["capacity requirement", f"{need.item} {need.metric}", "", "", "", limits])
    return _csv(["kind", "name", "team", "lead", "on_call", "detail"], rows)


def security_csv(
    session: Session, policy: Policy, start: datetime, end: datetime
) -> tuple[str, int]:
    """Restricted incidents counted by status (not described), security changes with their
    approvals, how many audit rows the security records have, and the security settings."""
    rows: list[list[Any]] = []
    counted = session.exec(
        select(Incident.status, func.count())
        .where(col(Incident.restricted))
        .where(Incident.created_at >= start, Incident.created_at < end)
        .group_by(Incident.status)
        .order_by(Incident.status)
    ).all()
    for status, count in counted:
        rows.append(["restricted incidents", "", status, count, "details withheld"])
    changes = session.exec(
        select(Change)
        .where(col(Change.security))
        .where(Change.created_at >= start, Change.created_at < end)
        .order_by(col(Change.id))
    ).all()
    ids = [change.id for change in changes]
    approvals: dict[int, list[str]] = {}
    if ids:
        for approval in session.exec(
            select(ChangeApproval)
            .where(col(ChangeApproval.change_id).in_(ids))
            .order_by(col(ChangeApproval.id))
        ):
            approvals.setdefault(approval.change_id, []).append(
                f"{approval.approver} {approval.decision}"
                + (f" ({approval.roles})" if approval.roles else "")
            )
    for change in changes:
        assert change.id is not None
        rows.append(
            [
                "security change",
                f"{CHANGE_PREFIX}-{change.id}",
                change.status,
                len(approvals.get(change.id, [])),
                "; ".join(approvals.get(change.id, [])) or change.title,
            ]
        )
    keys = [f"{CHANGE_PREFIX}-{i}" for i in ids]
    keys += [
        f"{INCIDENT_PREFIX}-{i}"
        for i in session.exec(select(Incident.id).where(col(Incident.restricted)))
    ]
    if keys:
        audited = session.exec(
            select(func.count())
            .select_from(AuditEntry)
            .where(col(AuditEntry.record_key).in_(keys))
            .where(AuditEntry.at >= start, AuditEntry.at < end)
        ).one()
        rows.append(["security audit rows", "", "", audited, "in 4.3-audit-trail.csv"])
    rows.append(
        [
            "policy",
            "incidents.security_categories",
            "",
            len(policy.incidents.security_categories),
            ";".join(policy.incidents.security_categories),
        ]
    )
    rows.append(["policy", "roles.security", "", len(policy.roles.security), ""])
    approvers = getattr(policy.changes, "security_approvers", [])
    rows.append(["policy", "changes.security_approvers", "", len(approvers), ""])
    return _csv(["kind", "key", "status", "count", "detail"], rows)


def write(
    session: Session, policy: Policy, folder: Any, start: datetime, end: datetime
) -> dict[str, int]:
    """Write the three clauses' own files into the pack's folder; their row counts by name."""
    written: dict[str, int] = {}
    for name, (text, count) in (
        ("4.2-suppliers.csv", suppliers_csv(policy)),
        ("4.4-resources.csv", resources_csv(session, policy)),
        ("6.6-security.csv", security_csv(session, policy, start, end)),
    ):
        (folder / name).write_text(text, encoding="utf-8")
        written[name] = count
    return written
