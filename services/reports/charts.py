"""The report's charts as PNG bytes: incident volume per week by priority, SLA attainment
against target, availability against target, backlog by age.

Drawn with matplotlib's object API on the Agg canvas (no pyplot: no global state, safe from
several threads, no display needed). Sized for Slack's preview (800×450 px) with large type,
and coloured with the Okabe-Ito palette, which stays distinguishable with every common form
of colour blindness; bars also carry their values so colour is never the only cue.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from services.reports.figures import AGE_BUCKETS, Report
from services.reports.text import PRIORITY_NAMES

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}
PRIORITY_COLOURS = {
    1: OKABE_ITO["vermillion"],
    2: OKABE_ITO["orange"],
    3: OKABE_ITO["yellow"],
    4: OKABE_ITO["sky"],
    5: OKABE_ITO["blue"],
}
SIZE_INCHES = (8.0, 4.5)
DPI = 100
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Chart:
    name: str  # file name, e.g. "incident-volume.png"
    title: str
    png: bytes


def _figure() -> Figure:
    # matplotlib is imported when a chart is drawn, not when the bot starts: it is most of the
    # start-up's import time and a third of its memory, and most processes never draw.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _integer_ticks():  # type: ignore[no-untyped-def]
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _style(axes, title: str) -> None:  # type: ignore[no-untyped-def]
    axes.set_title(title, fontsize=15, loc="left")
    axes.tick_params(labelsize=12)
    axes.spines[["top", "right"]].set_visible(False)


def incident_volume(report: Report) -> bytes:
    """Stacked bars: incidents per week, one colour per priority."""
    figure = _figure()
    axes = figure.add_subplot()
    weeks = report.current.weekly
    labels = [start.strftime("%d %b") for start, _ in weeks]
    bottoms = [0] * len(weeks)
    for priority in range(1, 6):
        heights = [counts.get(priority, 0) for _, counts in weeks]
        if not any(heights):
            continue
        axes.bar(
            labels,
            heights,
            bottom=bottoms,
            label=PRIORITY_NAMES[priority],
            color=PRIORITY_COLOURS[priority],
            edgecolor="white",
        )
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    for x, total in enumerate(bottoms):
        if total:
            axes.annotate(str(total), (x, total), ha="center", va="bottom", fontsize=12)
    axes.yaxis.set_major_locator(_integer_ticks())
    axes.set_ylabel("incidents", fontsize=12)
    axes.set_xlabel("week starting", fontsize=12)
    if any(bottoms):
        axes.legend(fontsize=11, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    else:
        axes.text(0.5, 0.5, "No incidents", transform=axes.transAxes, ha="center", fontsize=14)
    _style(axes, f"Incidents per week, {report.period.label}")
    return _png(figure)


def sla_attainment(report: Report) -> bytes:
    """Response and resolution attainment per priority, with the target as a dashed line."""
    figure = _figure()
    axes = figure.add_subplot()
    current = report.current
    priorities = sorted(set(current.response.by_priority) | set(current.resolution.by_priority))
    width = 0.38
    for offset, attainment, colour, hatch in (
        (-width / 2, current.response, OKABE_ITO["blue"], ""),
        (width / 2, current.resolution, OKABE_ITO["orange"], "//"),
    ):
        values = []
        for priority in priorities:
            met, breached = attainment.by_priority.get(priority, (0, 0))
            values.append(100.0 * met / (met + breached) if met + breached else 0.0)
        positions = [i + offset for i in range(len(priorities))]
        bars = axes.bar(
            positions,
            values,
            width,
            label=f"{attainment.target} met",
            color=colour,
            hatch=hatch,
            edgecolor="white",
        )
        axes.bar_label(bars, fmt="%.0f%%", fontsize=10)
    axes.axhline(
        report.attainment_target,
        color=OKABE_ITO["black"],
        linestyle="--",
        linewidth=1.5,
        label=f"target {report.attainment_target:g} %",
    )
    axes.set_xticks(range(len(priorities)), [f"P{p}" for p in priorities])
    axes.set_ylim(0, 110)
    axes.set_ylabel("% of targets met", fontsize=12)
    if priorities:
        axes.legend(fontsize=11, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    else:
        axes.text(0.5, 0.5, "No SLA targets settled", transform=axes.transAxes, ha="center")
    _style(axes, "SLA attainment by priority")
    return _png(figure)


def availability(report: Report) -> bytes:
    """Availability per service (horizontal bars), each agreement target as a black tick."""
    figure = _figure()
    axes = figure.add_subplot()
    uptimes = report.current.availability[:15]
    names = [u.service for u in uptimes]
    values = [u.percent for u in uptimes]
    colours = [
        OKABE_ITO["vermillion"] if u.met_target is False else OKABE_ITO["green"] for u in uptimes
    ]
    bars = axes.barh(names, values, color=colours)
    axes.bar_label(bars, labels=[f"{v:.2f}%" for v in values], fontsize=11, padding=3)
    targets = [(i, u.target) for i, u in enumerate(uptimes) if u.target is not None]
    if targets:
        axes.scatter(
            [t for _, t in targets],
            [i for i, _ in targets],
            marker="|",
            s=900,
            color=OKABE_ITO["black"],
            label="agreed target",
            zorder=3,
        )
        axes.legend(fontsize=11, frameon=False, loc="lower left")
    low = min([*values, *(t for _, t in targets)], default=100.0)
    axes.set_xlim(max(0.0, min(low - 1.0, 99.0)), 100.6)
    axes.invert_yaxis()
    axes.set_xlabel("availability %", fontsize=12)
    _style(axes, "Availability against target")
    return _png(figure)


def backlog_age(report: Report) -> bytes:
    """Open incidents at the end of this period and the previous one, by age."""
    figure = _figure()
    axes = figure.add_subplot()
    labels = [label for label, _ in AGE_BUCKETS]
    width = 0.38
    for offset, figures, colour, hatch in (
        (-width / 2, report.previous, OKABE_ITO["sky"], "//"),
        (width / 2, report.current, OKABE_ITO["blue"], ""),
    ):
        values = [figures.backlog.by_age.get(label, 0) for label in labels]
        bars = axes.bar(
            [i + offset for i in range(len(labels))],
            values,
            width,
            color=colour,
            hatch=hatch,
            edgecolor="white",
            label=figures.period.label,
        )
        axes.bar_label(bars, fontsize=11)
    axes.yaxis.set_major_locator(_integer_ticks())
    axes.set_xticks(range(len(labels)), labels)
    axes.set_ylabel("open incidents", fontsize=12)
    axes.legend(fontsize=11, frameon=False)
    _style(axes, "Backlog by age at period end")
    return _png(figure)


def render_all(report: Report) -> list[Chart]:
    """Every chart of the report's sections, in section order."""
    return [chart for section in report.sections for chart in section.charts(report)]
