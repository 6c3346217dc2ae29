"""The satisfaction and supplier-performance sections of a service report: each builds a
`Section` (a title and label/value rows) for the report's scope and period, or None when it
has nothing to say for that scope.

They are plain functions over a `SectionQuery` (session, policy, scope, period, now), so the
report registry can take them as they are."""

from __future__ import annotations

from typing import Any

from models.sla_policy import format_duration
from services import suppliers, surveys
from services.reports.figures import Section

SATISFACTION = "Satisfaction"
SUPPLIERS = "Supplier performance"


def _services(query: Any) -> tuple[str, ...] | None:
    return getattr(query.scope, "services", None)


def satisfaction_section(query: Any) -> Section | None:
    """Surveys sent in the period for the scope's services: response rate, average and the
    1-5 distribution. None when no survey went out."""
    figures = surveys.figures(
        query.session,
        since=query.period.start,
        until=query.period.end,
        services=_services(query),
        comments=0,
    )
    if not figures.asked:
        return None
    rate = f"{figures.response_rate:.0f}%" if figures.response_rate is not None else "—"
    average = f"{figures.average:.2f} / 5" if figures.average is not None else "—"
    spread = " · ".join(f"{score}: {figures.distribution[score]}" for score in surveys.SCORES)
    return Section(
        SATISFACTION,
        [
            ("Surveys sent", str(figures.asked)),
            ("Answered", f"{figures.answered} ({rate})"),
            ("Average score", average),
            ("Distribution", spread),
        ],
    )


def supplier_section(query: Any) -> Section | None:
    """Each supplier supporting a service in scope (every supplier for all services): records
    that waited on them in the period, median wait, % within the contracted resolution
    target. None when no supplier applies."""
    scope = _services(query)
    wanted = None if scope is None else {name.lower() for name in scope}
    rows: list[tuple[str, str]] = []
    for supplier in query.policy.suppliers:
        if wanted is not None and not wanted & {name.lower() for name in supplier.services}:
            continue
        found = suppliers.performance(
            query.session,
            supplier=supplier,
            since=query.period.start,
            now=query.now,
            until=query.period.end,
        )
        if not found.records:
            rows.append((supplier.name, "no waits"))
            continue
        median = format_duration(found.median_wait) if found.median_wait else "—"
        within = f", {found.within:.0f}% within contract" if found.within is not None else ""
        rows.append((supplier.name, f"{found.records} records, median wait {median}{within}"))
    return Section(SUPPLIERS, rows) if rows else None
