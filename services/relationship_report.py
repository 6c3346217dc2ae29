"""The satisfaction and supplier-performance sections of every service report, registered in
services/reports/registry.py. Each measures its figures for the report's scope and period
(and the period before, beside them); a scope with nothing to say leaves the section out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services import suppliers, surveys
from services.reports.figures import Report
from services.reports.sections import (
    Detail,
    ReportSection,
    Row,
    SectionQuery,
    count_row,
    percent_row,
    time_row,
)
from services.reports.text import delta


def _services(query: SectionQuery) -> tuple[str, ...] | None:
    return getattr(query.scope, "services", None)


class SatisfactionSection(ReportSection):
    """Surveys sent in the period for the scope's services: response rate, average score,
    the distribution and (this period) the latest comments."""

    key = "satisfaction"
    title = "Satisfaction"

    def measure(self, query: SectionQuery) -> surveys.Csat | None:
        figures = surveys.figures(
            query.session,
            since=query.period.start,
            until=query.period.end,
            services=_services(query),
            comments=5 if query.detail else 0,
        )
        return figures if figures.asked else None

    def rows(self, current: surveys.Csat, previous: surveys.Csat | None) -> list[Row]:
        before_avg = previous.average if previous else None
        return [
            count_row(self.title, "Surveys sent", current.asked, previous.asked if previous else 0),
            count_row(
                self.title, "Answered", current.answered, previous.answered if previous else 0
            ),
            percent_row(
                self.title,
                "Response rate",
                current.response_rate,
                previous.response_rate if previous else None,
            ),
            Row(
                self.title,
                "Average score (1-5)",
                _average(current.average),
                _average(before_avg),
                delta(current.average, before_avg, ""),
            ),
            Row(
                self.title,
                "Scores 1 / 2 / 3 / 4 / 5",
                _spread(current),
                _spread(previous) if previous else "—",
                "",
            ),
        ]

    def details(self, report: Report, current: surveys.Csat) -> list[Detail]:
        if not current.comments:
            return []
        return [
            Detail(
                "Latest satisfaction comments",
                columns=("Record", "Score", "Comment"),
                rows=tuple((key, str(score), text) for key, score, text in current.comments),
            )
        ]


def _average(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _spread(figures: surveys.Csat) -> str:
    return " / ".join(str(figures.distribution[score]) for score in surveys.SCORES)


@dataclass(frozen=True)
class SupplierFigures:
    by_supplier: dict[str, suppliers.Performance]


class SupplierSection(ReportSection):
    """Each supplier supporting a service in scope (every supplier for all services): records
    that waited on them in the period, median wait, % within the contracted resolution
    target."""

    key = "suppliers"
    title = "Supplier performance"

    def measure(self, query: SectionQuery) -> SupplierFigures | None:
        scope = _services(query)
        wanted = None if scope is None else {name.lower() for name in scope}
        found: dict[str, suppliers.Performance] = {}
        for supplier in query.policy.suppliers:
            if wanted is not None and not wanted & {name.lower() for name in supplier.services}:
                continue
            found[supplier.name] = suppliers.performance(
                query.session,
                supplier=supplier,
                since=query.period.start,
                now=query.now,
                until=query.period.end,
            )
        return SupplierFigures(found) if found else None

    def rows(self, current: SupplierFigures, previous: SupplierFigures | None) -> list[Row]:
        out: list[Row] = []
        for name, now in current.by_supplier.items():
            before: Any = previous.by_supplier.get(name) if previous else None
            out += [
                count_row(
                    self.title,
                    f"{name}: records waited on",
                    now.records,
                    before.records if before else None,
                ),
                time_row(
                    self.title,
                    f"{name}: median wait",
                    _seconds(now.median_wait),
                    _seconds(before.median_wait) if before else None,
                ),
                percent_row(
                    self.title,
                    f"{name}: within contract",
                    now.within,
                    before.within if before else None,
                ),
            ]
        return out


def _seconds(value: Any) -> float | None:
    return None if value is None else value.total_seconds()
