"""The inputs to a management review (ISO/IEC 20000-1 4.5.4.3), prepared by the bot: a small
registry of name → function(session, policy, period) → lines of plain text. The review's
reminder, `/servicedesk review` and the recorded review walk the registry in order; a
capability that has figures for the review adds one line at the end of this module:

    register("spares", "Spare parts", spares_lines)

Lines are plain text (whoever shows them escapes them); an input with nothing to say returns
a line saying so, never an empty list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from models.improvement import (
    AuditStatus,
    Improvement,
    ImprovementStatus,
    InternalAudit,
    NcStatus,
    Nonconformity,
)
from models.policy import Policy
from services import budgets, capacity_standing, sms, suppliers, surveys
from services.reports import build_report
from services.reports.period import Period
from services.reports.registry import by_key
from services.reports.scope import Scope
from services.reports.text import summary_rows

Source = Callable[[Session, Policy, Period], list[str]]


@dataclass(frozen=True)
class ReviewInput:
    name: str
    title: str
    source: Source


INPUTS: dict[str, ReviewInput] = {}


def register(name: str, title: str, source: Source) -> None:
    """Add an input (shown after those registered before it). A name used twice is refused."""
    if name in INPUTS:
        raise ValueError(f"review input '{name}' is registered twice")
    INPUTS[name] = ReviewInput(name, title, source)


@dataclass(frozen=True)
class Prepared:
    title: str
    lines: list[str]


def prepare(session: Session, *, policy: Policy, period: Period) -> list[Prepared]:
    """Every registered input over `period`, in order."""
    return [
        Prepared(found.title, found.source(session, policy, period)) for found in INPUTS.values()
    ]


def as_text(prepared: list[Prepared]) -> str:
    """The inputs as plain text (what the recorded review keeps as evidence)."""
    parts = []
    for found in prepared:
        parts.append(found.title)
        parts += [f"- {line}" for line in found.lines]
    return "\n".join(parts)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def _objectives(session: Session, policy: Policy, period: Period) -> list[str]:
    quarter, measured = sms.measure_objectives(session, policy=policy, now=period.end)
    if not measured:
        return ["No objectives in [sms]."]
    lines = []
    for found in measured:
        target = found.objective.target
        wanted = f" (target ≥ {target:g} %)" if target is not None else ""
        value = f"{found.value:.1f} % ({found.basis})" if found.value is not None else found.basis
        verdict = {True: " met", False: " NOT met", None: ""}[found.met]
        lines.append(f"{found.objective.name}{wanted}: {value}{verdict}")
    return [f"Measured over {sms.quarter_label(quarter)} so far:", *lines]


def _report(session: Session, policy: Policy, period: Period) -> list[str]:
    sections = by_key("incidents", "sla", "requests", "changes", "problems")
    report = build_report(session, policy, Scope(kind="all"), period, period.end, sections=sections)
    return [
        f"{row.label.strip()}: {row.current} (before: {row.previous})"
        for row in summary_rows(report)
        if row.current
    ]


def _in_period(column: object, period: Period) -> list[object]:
    return [col(column) >= period.start, col(column) < period.end]


def _audits(session: Session, policy: Policy, period: Period) -> list[str]:
    found = session.exec(
        select(InternalAudit)
        .where(
            col(InternalAudit.status) == AuditStatus.COMPLETED.value,
            *_in_period(InternalAudit.completed_at, period),
        )
        .order_by(col(InternalAudit.completed_at), col(InternalAudit.id))
    ).all()
    if not found:
        return ["No internal audit completed in the period."]
    return [f"{a.key} {a.name}: {a.conclusion or ''}" for a in found]


def _counted(session: Session, model: type, states: dict[str, object], period: Period) -> dict:
    """Raised in the period, and how many of those are in each state now (one query)."""
    columns = [
        func.sum(case((col(model.status) == value, 1), else_=0)).label(name)  # type: ignore[attr-defined]
        for name, value in states.items()
    ]
    row = session.execute(
        select(func.count(), *columns).where(*_in_period(model.created_at, period))  # type: ignore[attr-defined]
    ).one()
    return {"raised": row[0], **{name: int(row[i + 1] or 0) for i, name in enumerate(states)}}


def _nonconformities(session: Session, policy: Policy, period: Period) -> list[str]:
    counted = _counted(
        session,
        Nonconformity,
        {"closed": NcStatus.CLOSED.value, "open": NcStatus.OPEN.value},
        period,
    )
    still_open = session.execute(
        select(func.count()).where(col(Nonconformity.status) != NcStatus.CLOSED.value)
    ).scalar_one()
    return [
        f"Raised in the period: {counted['raised']}, of which closed: {counted['closed']}",
        f"Open now (any age): {still_open}",
    ]


def _improvements(session: Session, policy: Policy, period: Period) -> list[str]:
    counted = _counted(
        session,
        Improvement,
        {
            "done": ImprovementStatus.DONE.value,
            "approved": ImprovementStatus.APPROVED.value,
            "rejected": ImprovementStatus.REJECTED.value,
            "proposed": ImprovementStatus.PROPOSED.value,
        },
        period,
    )
    return [
        f"Raised in the period: {counted['raised']}: done {counted['done']}, approved (under "
        f"way) {counted['approved']}, awaiting evaluation {counted['proposed']}, rejected "
        f"{counted['rejected']}"
    ]


def _satisfaction(session: Session, policy: Policy, period: Period) -> list[str]:
    found = surveys.figures(session, since=period.start, until=period.end, comments=0)
    if not found.asked:
        return ["No satisfaction survey sent in the period."]
    average = "—" if found.average is None else f"{found.average:.2f} / 5"
    return [
        f"Surveys sent {found.asked}, answered {found.answered} "
        f"({_percent(found.response_rate)}), average {average}"
    ]


def _suppliers(session: Session, policy: Policy, period: Period) -> list[str]:
    if not policy.suppliers:
        return ["No [[suppliers]] in the policy."]
    lines = []
    for supplier in policy.suppliers:
        found = suppliers.performance(
            session, supplier=supplier, since=period.start, now=period.end
        )
        median = (
            "—"
            if found.median_wait is None
            else f"{found.median_wait.total_seconds() / 3600:.1f} h"
        )
        lines.append(
            f"{supplier.name}: {found.records} record(s) waited, median wait {median}, within "
            f"contract {_percent(found.within)}, breaches {found.breached}"
        )
    return lines


def _budgets(session: Session, policy: Policy, period: Period) -> list[str]:
    found = budgets.status(session, policy=policy, on=period.end.date())
    if not found:
        return ["No budget covers the period's last day."]
    currency = policy.sms.currency
    return [
        f"{b.service} {b.budget.period}: {currency} {b.actual:,.2f} of {currency} "
        f"{b.budget.amount:,.2f} ({b.shown_percent})"
        for b in found
    ]


def _capacity(session: Session, policy: Policy, period: Period) -> list[str]:
    rows = capacity_standing.capacity_status(session, policy, period.end)
    if not rows:
        return ["No capacity requirements in the policy file."]
    lines = []
    for row in rows:
        unit = f" {row.requirement.unit}" if row.requirement.unit else ""
        now = (
            f"{row.latest_value:g}{unit} ({row.level.value})"
            if row.level is not None and row.latest_value is not None
            else "nothing measured"
        )
        ahead = (
            f"; reaches critical {row.forecast_at:%Y-%m-%d}"
            if row.forecast_inside and row.forecast_at
            else ""
        )
        lines.append(f"{row.item} {row.metric}: {now}{ahead}; {row.alerts} alerts")
    return lines


register("objectives", "Objective attainment", _objectives)
register("report", "Service report figures", _report)
register("audits", "Internal audit results", _audits)
register("nonconformities", "Nonconformities", _nonconformities)
register("improvements", "Improvements", _improvements)
register("satisfaction", "Customer satisfaction", _satisfaction)
register("suppliers", "Supplier performance", _suppliers)
register("budgets", "Budget status", _budgets)
register("capacity", "Capacity", _capacity)


def period_ending(now: datetime, start: datetime) -> Period:
    """The review's period: from `start` (the last review) until `now`."""
    return Period(start=start, end=now, kind="range")
