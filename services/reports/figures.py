"""The figures of a service report, one dataclass per area. Plain data: renderers (Block Kit,
PDF, Markdown, CSV) read them, and the evidence pack can reuse them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.reports.period import Period
    from services.reports.scope import Scope


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
class Section:
    """A block of figures a later capability adds (satisfaction, supplier performance):
    a title and (label, value) rows, rendered by every renderer as a small table."""

    title: str
    rows: list[tuple[str, str]]


@dataclass(frozen=True)
class Figures:
    """Everything measured over one period."""

    period: Period
    incidents: int
    by_priority: dict[int, int]
    by_service: dict[str, int]
    # Week start → {priority: count}; filled for the reported period only.
    weekly: list[tuple[datetime, dict[int, int]]]
    mtta: Percentiles
    mttr: Percentiles
    response: Attainment
    resolution: Attainment
    breaches: list[Breach]
    availability: list[Uptime]
    requests: Requests
    changes: Changes
    problems: Problems
    backlog: Backlog
    tests: Tests
    sections: list[Section] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    """A service report: the figures of a period and of the one before it."""

    scope: Scope
    period: Period
    generated_at: datetime
    current: Figures
    previous: Figures
    # Attainment the SLA chart draws its target line at.
    attainment_target: float = 95.0


@dataclass(frozen=True)
class SectionQuery:
    """What an extension section is asked for: the session, policy, scope and period."""

    session: Any
    policy: Any
    scope: Scope
    period: Period
    now: datetime


# Extension point: satisfaction scores and supplier performance (later issues) append a
# builder here; it returns a Section, or None when it has nothing for the scope.
SectionBuilder = Callable[[SectionQuery], "Section | None"]
SECTION_BUILDERS: list[SectionBuilder] = []
