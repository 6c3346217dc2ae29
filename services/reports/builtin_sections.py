"""The sections every report has had from the start, each on the same footing as a section a
later record kind registers (services.reports.sections)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.reports import charts
from services.reports import incident_queries as incidents
from services.reports import service_queries as services
from services.reports.charts import Chart
from services.reports.figures import (
    AGE_BUCKETS,
    Backlog,
    Changes,
    IncidentVolumes,
    Problems,
    Report,
    Requests,
    SlaFigures,
    Tests,
    Uptime,
)
from services.reports.sections import (
    Detail,
    Records,
    ReportSection,
    Row,
    SectionQuery,
    count_row,
    percent_row,
    time_row,
)
from services.reports.text import PRIORITY_NAMES, by_service, delta, duration, percent


def _records(name: str, rows: list[dict[str, Any]], empty_header: list[str]) -> Records:
    header = list(rows[0]) if rows else empty_header
    return Records(name, header, [[row.get(h) for h in header] for row in rows])


class IncidentSection(ReportSection):
    key = "incidents"
    title = "Incidents"

    def measure(self, query: SectionQuery) -> IncidentVolumes:
        sql, scope, period = query.sql, query.scope, query.period
        by_priority, services_count, weekly = incidents.volumes(
            sql, scope, period, detail=query.detail
        )
        return IncidentVolumes(
            count=sum(by_priority.values()),
            by_priority=by_priority,
            by_service=services_count,
            weekly=weekly,
            mtta=incidents.mtta(sql, scope, period),
            mttr=incidents.mttr(sql, scope, period),
        )

    def rows(self, current: IncidentVolumes, previous: IncidentVolumes | None) -> list[Row]:
        before = previous or IncidentVolumes(0, {}, {}, [], current.mtta, current.mttr)
        rows = [count_row(self.title, "Incidents logged", current.count, before.count)]
        for priority in sorted(set(current.by_priority) | set(before.by_priority)):
            rows.append(
                count_row(
                    self.title,
                    f"  {PRIORITY_NAMES.get(priority, f'P{priority}')}",
                    current.by_priority.get(priority, 0),
                    before.by_priority.get(priority, 0),
                )
            )
        return rows + [
            time_row(self.title, "MTTA median", current.mtta.median, before.mtta.median),
            time_row(self.title, "MTTA 90th percentile", current.mtta.p90, before.mtta.p90),
            time_row(self.title, "MTTR median", current.mttr.median, before.mttr.median),
            time_row(self.title, "MTTR 90th percentile", current.mttr.p90, before.mttr.p90),
        ]

    def details(self, report: Report, current: IncidentVolumes) -> list[Detail]:
        return [Detail("Incidents by service", text=by_service(report.current, limit=30))]

    def records(self, session: Session, report: Report) -> list[Records]:
        rows = incidents.incident_records(session, report)
        return [_records("incidents.csv", rows, ["key", "title", "priority", "service"])]

    def charts(self, report: Report) -> list[Chart]:
        return [
            Chart(
                "incident-volume.png",
                "Incidents per week by priority",
                charts.incident_volume(report),
            )
        ]


class SlaSection(ReportSection):
    key = "sla"
    title = "SLA"

    def measure(self, query: SectionQuery) -> SlaFigures:
        sql, scope, period, now = query.sql, query.scope, query.period, query.now
        response, resolution = incidents.attainment(sql, scope, period, now)
        listed = incidents.breaches(sql, scope, period, now) if query.detail else []
        return SlaFigures(response=response, resolution=resolution, breaches=listed)

    def rows(self, current: SlaFigures, previous: SlaFigures | None) -> list[Row]:
        before = previous or current
        return [
            percent_row(
                self.title, "Response met", current.response.percent, before.response.percent
            ),
            percent_row(
                self.title, "Resolution met", current.resolution.percent, before.resolution.percent
            ),
            count_row(
                self.title,
                "Targets breached",
                current.response.breached + current.resolution.breached,
                before.response.breached + before.resolution.breached,
            ),
        ]

    def details(self, report: Report, current: SlaFigures) -> list[Detail]:
        return [
            Detail(
                "SLA breaches",
                columns=("Incident", "Target", "Priority", "Service", "Title", "Due (UTC)"),
                rows=tuple(
                    (
                        b.key,
                        b.target,
                        f"P{b.priority}",
                        b.service or "",
                        b.title,
                        f"{b.due_at:%Y-%m-%d %H:%M}" if b.due_at else "",
                    )
                    for b in current.breaches
                ),
            )
        ]

    def records(self, session: Session, report: Report) -> list[Records]:
        header = ["incident", "target", "priority", "service", "title", "due_at", "stopped_at"]
        rows = [
            [
                b.key,
                b.target,
                f"P{b.priority}",
                b.service or "",
                b.title,
                b.due_at.isoformat() if b.due_at else "",
                b.stopped_at.isoformat() if b.stopped_at else "",
            ]
            for b in report.current.breaches
        ]
        return [Records("breaches.csv", header, rows)]

    def charts(self, report: Report) -> list[Chart]:
        return [
            Chart(
                "sla-attainment.png", "SLA attainment against target", charts.sla_attainment(report)
            )
        ]


class AvailabilitySection(ReportSection):
    key = "availability"
    title = "Availability"

    def measure(self, query: SectionQuery) -> list[Uptime] | None:
        found = services.availability_of(
            query.sql, query.policy, query.scope, query.period, query.now
        )
        return found or None

    def rows(self, current: list[Uptime], previous: list[Uptime] | None) -> list[Row]:
        before = {u.service: u for u in previous or []}
        rows = []
        for uptime in current:
            old = before.get(uptime.service)
            target = f" (target {uptime.target:g} %)" if uptime.target is not None else ""
            rows.append(
                Row(
                    self.title,
                    f"{uptime.service}{target}",
                    percent(uptime.percent, 3),
                    percent(old.percent, 3) if old else "—",
                    delta(uptime.percent, old.percent if old else None, "pt"),
                )
            )
            rows.append(
                Row(
                    self.title,
                    f"  {uptime.service} outages · MTBF · MTRS",
                    f"{uptime.outages} · {duration(uptime.mtbf_s)} · {duration(uptime.mtrs_s)}",
                    f"{old.outages} · {duration(old.mtbf_s)} · {duration(old.mtrs_s)}"
                    if old
                    else "—",
                    "",
                )
            )
        return rows

    def records(self, session: Session, report: Report) -> list[Records]:
        header = [
            "service",
            "availability_percent",
            "target_percent",
            "downtime_s",
            "outages",
            "mtbf_s",
            "mtrs_s",
        ]
        rows = [
            [
                u.service,
                f"{u.percent:.4f}",
                "" if u.target is None else f"{u.target:g}",
                f"{u.downtime_s:.0f}",
                u.outages,
                "" if u.mtbf_s is None else f"{u.mtbf_s:.0f}",
                "" if u.mtrs_s is None else f"{u.mtrs_s:.0f}",
            ]
            for u in report.current.availability
        ]
        return [Records("availability.csv", header, rows)]

    def charts(self, report: Report) -> list[Chart]:
        if not report.current.availability:
            return []
        return [
            Chart("availability.png", "Availability against target", charts.availability(report))
        ]


class RequestSection(ReportSection):
    key = "requests"
    title = "Requests"

    def measure(self, query: SectionQuery) -> Requests | None:
        found = services.requests_of(query.sql, query.scope, query.period, query.now)
        return found if found.applicable else None

    def rows(self, current: Requests, previous: Requests | None) -> list[Row]:
        before = previous or Requests()
        return [
            count_row(self.title, "Requests fulfilled", current.fulfilled, before.fulfilled),
            percent_row(
                self.title, "Fulfilled on time", current.on_time_percent, before.on_time_percent
            ),
        ]


class ChangeSection(ReportSection):
    key = "changes"
    title = "Changes"

    def measure(self, query: SectionQuery) -> Changes:
        return services.changes_of(query.sql, query.scope, query.period)

    def rows(self, current: Changes, previous: Changes | None) -> list[Row]:
        before = previous or Changes()
        return [
            count_row(self.title, "Changes implemented", current.implemented, before.implemented),
            percent_row(
                self.title,
                "Change success rate",
                current.success_percent,
                before.success_percent,
            ),
            count_row(self.title, "Emergency changes", current.emergency, before.emergency),
            count_row(
                self.title,
                "Changes that caused incidents",
                current.caused_incidents,
                before.caused_incidents,
            ),
        ]

    def details(self, report: Report, current: Changes) -> list[Detail]:
        by_type = ", ".join(f"{kind} {n}" for kind, n in current.by_type.items()) or "none"
        by_outcome = (
            ", ".join(f"{o.replace('_', ' ')} {n}" for o, n in current.by_outcome.items()) or "none"
        )
        return [Detail("Changes", text=f"by type: {by_type}; by outcome: {by_outcome}")]

    def records(self, session: Session, report: Report) -> list[Records]:
        rows = services.change_records(session, report)
        return [_records("changes.csv", rows, ["key", "title", "type", "review_outcome"])]


class ProblemSection(ReportSection):
    key = "problems"
    title = "Problems"

    def measure(self, query: SectionQuery) -> Problems:
        return services.problems_of(query.sql, query.scope, query.period)

    def rows(self, current: Problems, previous: Problems | None) -> list[Row]:
        before = previous or Problems()
        return [
            count_row(self.title, "Problems opened", current.opened, before.opened),
            count_row(self.title, "Problems resolved", current.resolved, before.resolved),
            count_row(
                self.title, "Known errors recorded", current.known_errors, before.known_errors
            ),
        ]


class BacklogSection(ReportSection):
    key = "backlog"
    title = "Backlog"

    def measure(self, query: SectionQuery) -> Backlog:
        return incidents.backlog_at(query.sql, query.scope, min(query.period.end, query.now))

    def rows(self, current: Backlog, previous: Backlog | None) -> list[Row]:
        before = previous or Backlog()
        return [
            count_row(self.title, "Open incidents at period end", current.open, before.open),
            time_row(self.title, "Oldest open incident", current.oldest_s, before.oldest_s),
        ]

    def details(self, report: Report, current: Backlog) -> list[Detail]:
        return [
            Detail(
                "Backlog by age at period end",
                columns=("Age", "Open incidents"),
                rows=tuple((label, str(current.by_age.get(label, 0))) for label, _ in AGE_BUCKETS),
            )
        ]

    def charts(self, report: Report) -> list[Chart]:
        return [Chart("backlog-age.png", "Backlog by age", charts.backlog_age(report))]


class TestSection(ReportSection):
    key = "tests"
    title = "Tests"
    __test__ = False  # not a pytest class

    def measure(self, query: SectionQuery) -> Tests:
        return services.tests_of(query.sql, query.scope, query.period)

    def rows(self, current: Tests, previous: Tests | None) -> list[Row]:
        before = previous or Tests()
        return [
            count_row(self.title, "Availability / continuity tests due", current.due, before.due),
            count_row(self.title, "Tests done", current.done, before.done),
            count_row(self.title, "Tests failed", current.failed, before.failed),
        ]


BUILT_IN: tuple[ReportSection, ...] = (
    IncidentSection(),
    SlaSection(),
    AvailabilitySection(),
    RequestSection(),
    ChangeSection(),
    ProblemSection(),
    BacklogSection(),
    TestSection(),
)
