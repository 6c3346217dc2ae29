"""The words and numbers of a report, shared by every renderer (Block Kit, Markdown, PDF,
CSV) so the same figure reads the same everywhere. Plain text: each renderer escapes it for
its own medium."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.reports.figures import Figures, Report
    from services.reports.sections import Detail, Row

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


def delta(current: float | None, previous: float | None, unit: str) -> str:
    """The change from `previous` to `current`: "+3", "−2.5 pt", "+20m"; "" if either is
    unknown."""
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


def summary_rows(report: Report) -> list[Row]:
    """Every section's headline figures beside the previous period's, in section order."""
    rows: list[Row] = []
    for section in report.sections:
        current = report.current.values.get(section.key)
        if current is None:
            continue
        rows += section.rows(current, report.previous.values.get(section.key))
    return rows


def details(report: Report) -> list[Detail]:
    """Every section's details (lists and prose after the summary), in section order."""
    found: list[Detail] = []
    for section in report.sections:
        current = report.current.values.get(section.key)
        if current is not None:
            found += section.details(report, current)
    return found


def title(report: Report) -> str:
    return f"Service report: {report.scope.label}, {report.period.label}"


def subtitle(report: Report) -> str:
    return (
        f"Compared with {report.previous.period.label}. "
        f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC."
    )


def by_service(figures: Figures, limit: int = 10) -> str:
    items = list(figures.by_service.items())
    text = ", ".join(f"{name} {n}" for name, n in items[:limit])
    if len(items) > limit:
        text += f" and {len(items) - limit} more"
    return text or "none"
