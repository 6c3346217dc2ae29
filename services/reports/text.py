"""The words and numbers of a report, shared by every renderer (Block Kit, Markdown, PDF,
CSV) so the same figure reads the same everywhere. Plain text: each renderer escapes it for
its own medium."""

from __future__ import annotations

from dataclasses import dataclass

from services.reports.figures import Figures, Report

PRIORITY_NAMES = {1: "P1 critical", 2: "P2 high", 3: "P3 moderate", 4: "P4 low", 5: "P5 planning"}


def duration(seconds: float | None) -> str:
    """Compact: 45s, 12m, 3.5h, 2.1d; an em dash when nothing was measured."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def percent(value: float | None, places: int = 1) -> str:
    return "—" if value is None else f"{value:.{places}f} %"


def _delta(current: float | None, previous: float | None, unit: str) -> str:
    if current is None or previous is None:
        return ""
    change = current - previous
    if abs(change) < 1e-9:
        return "no change"
    sign = "+" if change > 0 else "−"
    if unit == "pt":
        return f"{sign}{abs(change):.1f} pt"
    if unit == "s":
        return f"{sign}{duration(abs(change))}"
    return f"{sign}{abs(change):g}"


@dataclass(frozen=True)
class Row:
    """One line of the summary: what, this period, the previous one, and the change."""

    group: str
    label: str
    current: str
    previous: str
    change: str


def _count(group: str, label: str, now: int, before: int) -> Row:
    return Row(group, label, str(now), str(before), _delta(now, before, ""))


def _pct(group: str, label: str, now: float | None, before: float | None) -> Row:
    return Row(group, label, percent(now), percent(before), _delta(now, before, "pt"))


def _time(group: str, label: str, now: float | None, before: float | None) -> Row:
    return Row(group, label, duration(now), duration(before), _delta(now, before, "s"))


def summary_rows(report: Report) -> list[Row]:
    """Every headline figure beside the previous period's."""
    c, p = report.current, report.previous
    rows = [_count("Incidents", "Incidents logged", c.incidents, p.incidents)]
    for priority in sorted(set(c.by_priority) | set(p.by_priority)):
        rows.append(
            _count(
                "Incidents",
                f"  {PRIORITY_NAMES.get(priority, f'P{priority}')}",
                c.by_priority.get(priority, 0),
                p.by_priority.get(priority, 0),
            )
        )
    rows += [
        _time("Incidents", "MTTA median", c.mtta.median, p.mtta.median),
        _time("Incidents", "MTTA 90th percentile", c.mtta.p90, p.mtta.p90),
        _time("Incidents", "MTTR median", c.mttr.median, p.mttr.median),
        _time("Incidents", "MTTR 90th percentile", c.mttr.p90, p.mttr.p90),
        _pct("SLA", "Response met", c.response.percent, p.response.percent),
        _pct("SLA", "Resolution met", c.resolution.percent, p.resolution.percent),
        _count(
            "SLA",
            "Targets breached",
            c.response.breached + c.resolution.breached,
            p.response.breached + p.resolution.breached,
        ),
    ]
    before = {u.service: u for u in p.availability}
    for uptime in c.availability:
        old = before.get(uptime.service)
        target = f" (target {uptime.target:g} %)" if uptime.target is not None else ""
        rows.append(
            Row(
                "Availability",
                f"{uptime.service}{target}",
                percent(uptime.percent, 3),
                percent(old.percent, 3) if old else "—",
                _delta(uptime.percent, old.percent if old else None, "pt"),
            )
        )
        rows.append(
            Row(
                "Availability",
                f"  {uptime.service} outages · MTBF · MTRS",
                f"{uptime.outages} · {duration(uptime.mtbf_s)} · {duration(uptime.mtrs_s)}",
                f"{old.outages} · {duration(old.mtbf_s)} · {duration(old.mtrs_s)}" if old else "—",
                "",
            )
        )
    if c.requests.applicable:
        rows += [
            _count("Requests", "Requests fulfilled", c.requests.fulfilled, p.requests.fulfilled),
            _pct(
                "Requests",
                "Fulfilled on time",
                c.requests.on_time_percent,
                p.requests.on_time_percent,
            ),
        ]
    rows += [
        _count("Changes", "Changes implemented", c.changes.implemented, p.changes.implemented),
        _pct(
            "Changes", "Change success rate", c.changes.success_percent, p.changes.success_percent
        ),
        _count("Changes", "Emergency changes", c.changes.emergency, p.changes.emergency),
        _count(
            "Changes",
            "Changes that caused incidents",
            c.changes.caused_incidents,
            p.changes.caused_incidents,
        ),
        _count("Problems", "Problems opened", c.problems.opened, p.problems.opened),
        _count("Problems", "Problems resolved", c.problems.resolved, p.problems.resolved),
        _count(
            "Problems", "Known errors recorded", c.problems.known_errors, p.problems.known_errors
        ),
        _count("Backlog", "Open incidents at period end", c.backlog.open, p.backlog.open),
        _time("Backlog", "Oldest open incident", c.backlog.oldest_s, p.backlog.oldest_s),
        _count("Tests", "Availability / continuity tests due", c.tests.due, p.tests.due),
        _count("Tests", "Tests done", c.tests.done, p.tests.done),
        _count("Tests", "Tests failed", c.tests.failed, p.tests.failed),
    ]
    previous_sections = {s.title: dict(s.rows) for s in p.sections}
    for section in c.sections:
        old_rows = previous_sections.get(section.title, {})
        rows += [
            Row(section.title, label, value, old_rows.get(label, "—"), "")
            for label, value in section.rows
        ]
    return rows


def title(report: Report) -> str:
    return f"Service report: {report.scope.label}, {report.period.label}"


def subtitle(report: Report) -> str:
    return (
        f"Compared with {report.previous.period.label}. "
        f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC."
    )


def changes_by_type(figures: Figures) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in figures.changes.by_type.items()) or "none"


def changes_by_outcome(figures: Figures) -> str:
    return (
        ", ".join(f"{o.replace('_', ' ')} {n}" for o, n in figures.changes.by_outcome.items())
        or "none"
    )


def by_service(figures: Figures, limit: int = 10) -> str:
    items = list(figures.by_service.items())
    text = ", ".join(f"{name} {n}" for name, n in items[:limit])
    if len(items) > limit:
        text += f" and {len(items) - limit} more"
    return text or "none"
