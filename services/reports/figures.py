"""The figures of a service report, one dataclass per area. Plain data: renderers (Block Kit,
PDF, Markdown, CSV) read them, and the evidence pack can reuse them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.reports.period import Period
    from services.reports.scope import Scope
    from services.reports.sections import ReportSection


@dataclass(frozen=True)
class Percentiles:
    """Median and 90th percentile of a duration, in seconds (None when nothing was measured)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None


@dataclass(frozen=True)
class Attainment:
    """One SLA target (response or resolution): met and breached among the settled or overdue
    ones; `running` are still within their target."""

    target: str
    met: int = 0
    breached: int = 0
    running: int = 0
    by_priority: dict[int, tuple[int, int]] = field(
        default_factory=dict
    )  # priority: (met, breached)

    @property
    def percent(self) -> float | None:
        counted = self.met + self.breached
        return 100.0 * self.met / counted if counted else None


@dataclass(frozen=True)
class Breach:
    key: str
    target: str
    priority: int
    service: str | None
    title: str
    due_at: datetime | None
    stopped_at: datetime | None


@dataclass(frozen=True)
class Uptime:
    """Availability of one service over the period (agreed time: the whole period, 24×7)."""

    service: str
    agreed_s: float
    downtime_s: float
    outages: int
    target: float | None = None

    @property
    def percent(self) -> float:
        return 100.0 * (self.agreed_s - self.downtime_s) / self.agreed_s if self.agreed_s else 100.0

    @property
    def mtbf_s(self) -> float | None:
        return (self.agreed_s - self.downtime_s) / self.outages if self.outages else None

    @property
    def mtrs_s(self) -> float | None:
        return self.downtime_s / self.outages if self.outages else None

    @property
    def met_target(self) -> bool | None:
        return None if self.target is None else self.percent >= self.target


@dataclass(frozen=True)
class Requests:
    applicable: bool = True
    fulfilled: int = 0
    on_time: int = 0

    @property
    def on_time_percent(self) -> float | None:
        return 100.0 * self.on_time / self.fulfilled if self.fulfilled else None


@dataclass(frozen=True)
class Changes:
    by_type: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    implemented: int = 0
    reviewed: int = 0
    successful: int = 0
    emergency: int = 0
    caused_incidents: int = 0

    @property
    def success_percent(self) -> float | None:
        return 100.0 * self.successful / self.reviewed if self.reviewed else None


@dataclass(frozen=True)
class Problems:
    opened: int = 0
    resolved: int = 0
    known_errors: int = 0


# Backlog age buckets: (label, upper bound in seconds; None = no bound).
AGE_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("< 1 day", 86400.0),
    ("1–7 days", 7 * 86400.0),
    ("7–30 days", 30 * 86400.0),
    ("> 30 days", None),
)


@dataclass(frozen=True)
class Backlog:
    """Incidents open at the end of the period, by age then."""

    open: int = 0
    by_age: dict[str, int] = field(default_factory=dict)
    oldest_s: float | None = None


@dataclass(frozen=True)
class Tests:
    """Availability and continuity test runs that fell due in the period."""

    due: int = 0
    done: int = 0
    failed: int = 0


@dataclass(frozen=True)
class IncidentVolumes:
    """Incidents logged in the period: by priority, by service, per week (the reported
    period only), and the response and repair times."""

    count: int
    by_priority: dict[int, int]
    by_service: dict[str, int]
    # Week start → {priority: count}.
    weekly: list[tuple[datetime, dict[int, int]]]
    mtta: Percentiles
    mttr: Percentiles


@dataclass(frozen=True)
class SlaFigures:
    response: Attainment
    resolution: Attainment
    breaches: list[Breach]  # the reported period only


@dataclass(frozen=True)
class Figures:
    """Everything measured over one period: each section's figures under its key."""

    period: Period
    values: dict[str, Any] = field(default_factory=dict)

    # The built-in sections' figures by name, for charts and readers of the code.
    incidents = property(lambda self: self.values["incidents"].count)
    by_priority = property(lambda self: self.values["incidents"].by_priority)
    by_service = property(lambda self: self.values["incidents"].by_service)
    weekly = property(lambda self: self.values["incidents"].weekly)
    mtta = property(lambda self: self.values["incidents"].mtta)
    mttr = property(lambda self: self.values["incidents"].mttr)
    response = property(lambda self: self.values["sla"].response)
    resolution = property(lambda self: self.values["sla"].resolution)
    breaches = property(lambda self: self.values["sla"].breaches)
    availability = property(lambda self: self.values.get("availability") or [])
    requests = property(lambda self: self.values.get("requests") or Requests(applicable=False))
    changes = property(lambda self: self.values["changes"])
    problems = property(lambda self: self.values["problems"])
    backlog = property(lambda self: self.values["backlog"])
    tests = property(lambda self: self.values["tests"])


@dataclass(frozen=True)
class Report:
    """A service report: the figures of a period and of the one before it, and the sections
    (services.reports.sections) that measured them, in the order they are shown."""

    scope: Scope
    period: Period
    generated_at: datetime
    current: Figures
    previous: Figures
    sections: tuple[ReportSection, ...] = ()
    # Attainment the SLA chart draws its target line at.
    attainment_target: float = 95.0
