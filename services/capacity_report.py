"""The capacity section of every service report (registered in services/reports/registry.py):
per `[[capacity]]` requirement in scope, the measurements of the period (how many, the worst
value) and the alerts raised in it, beside the period before; and, for the report's own
period, a table of where each requirement stands as the report is made (latest value, level,
forecast). A scope with no requirement leaves the section out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from models.capacity import AlertKind
from models.capacity_policy import CapacityRequirement
from models.policy import Policy
from services import capacity_standing, cmdb
from services.reports.figures import Report
from services.reports.sections import Detail, ReportSection, Row, SectionQuery
from services.reports.text import delta


@dataclass(frozen=True)
class Measured:
    requirement: CapacityRequirement
    measurements: int
    worst: float | None  # the highest value (lowest when lower is worse)
    alerts: dict[str, int]


@dataclass(frozen=True)
class CapacityFigures:
    measured: tuple[Measured, ...]
    standing: tuple[capacity_standing.CapacityRow, ...] = ()


def in_scope(
    session: Session, policy: Policy, services: tuple[str, ...] | None
) -> list[CapacityRequirement]:
    """The requirements a report on `services` (None: all) covers: those on one of the
    services, or on a configuration item that affects one of them."""
    if services is None:
        return list(policy.capacity)
    wanted = {name.lower() for name in services}
    found = []
    for entry in policy.capacity:
        if entry.key[0] in wanted:
            found.append(entry)
            continue
        item = cmdb.find_by_name(session, name=entry.item)
        if item is None or policy.service(entry.item) is not None:
            continue
        affected = {s.name.lower() for s in cmdb.affected_services(session, key=item.key)}
        if affected & wanted:
            found.append(entry)
    return found


class CapacitySection(ReportSection):
    key = "capacity"
    title = "Capacity"

    def measure(self, query: SectionQuery) -> CapacityFigures | None:
        required = in_scope(query.session, query.policy, getattr(query.scope, "services", None))
        if not required:
            return None
        items = {r.key[0] for r in required}
        period = query.period
        peaks = capacity_standing.peaks_between(
            query.session, since=period.start, until=period.end, items=items
        )
        raised = capacity_standing.alerts_between(
            query.session, since=period.start, until=period.end, items=items
        )
        measured = []
        for entry in required:
            count, lowest, highest = peaks.get(entry.key, (0, None, None))
            measured.append(
                Measured(
                    entry,
                    count,
                    highest if entry.direction == "up" else lowest,
                    {k.value: raised.get((*entry.key, k.value), 0) for k in AlertKind},
                )
            )
        standing: tuple[capacity_standing.CapacityRow, ...] = ()
        if query.detail:
            chosen = {r.key for r in required}
            standing = tuple(
                row
                for row in capacity_standing.capacity_status(query.session, query.policy, query.now)
                if row.requirement.key in chosen
            )
        return CapacityFigures(tuple(measured), standing)

    def rows(self, current: CapacityFigures, previous: CapacityFigures | None) -> list[Row]:
        before = {m.requirement.key: m for m in previous.measured} if previous else {}
        out: list[Row] = []
        for now in current.measured:
            entry = now.requirement
            then = before.get(entry.key)
            label = f"{entry.item} {entry.metric}"
            worst = "highest" if entry.direction == "up" else "lowest"
            out.append(
                Row(
                    self.title,
                    f"{label}: {worst} ({entry.unit or 'value'})",
                    _number(now.worst),
                    _number(then.worst if then else None),
                    delta(now.worst, then.worst if then else None, ""),
                )
            )
            out.append(
                Row(
                    self.title,
                    f"{label}: alerts (warning / critical / forecast)",
                    _alerts(now),
                    _alerts(then) if then else "—",
                    delta(
                        sum(now.alerts.values()), sum(then.alerts.values()) if then else None, ""
                    ),
                )
            )
        return out

    def details(self, report: Report, current: CapacityFigures) -> list[Detail]:
        if not current.standing:
            return []
        return [
            Detail(
                "Capacity now",
                columns=("Item", "Metric", "Latest", "Level", "Warning", "Critical", "Forecast"),
                rows=tuple(
                    (
                        row.item,
                        row.metric,
                        _number(row.latest_value) + _unit(row.requirement),
                        row.level.value if row.level else "not measured",
                        f"{row.requirement.warning:g}",
                        f"{row.requirement.critical:g}",
                        f"{row.forecast_at:%Y-%m-%d}" if row.forecast_at else "—",
                    )
                    for row in current.standing
                ),
            )
        ]


def _alerts(measured: Measured) -> str:
    return " / ".join(str(measured.alerts[kind.value]) for kind in AlertKind)


def _unit(entry: CapacityRequirement) -> str:
    return f" {entry.unit}" if entry.unit else ""


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"
