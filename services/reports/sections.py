"""The sections of a service report, and how a record kind adds one.

A report is a list of sections (incidents, SLA, availability, requests, changes, problems,
backlog, tests, and whatever later kinds register: satisfaction, suppliers, major incidents,
security). Each section measures its own figures for a period, and says how they read; the
report's builder and every renderer (Block Kit, PDF, Markdown, CSV, charts) only walk the
sections. A new kind adds its section by subclassing `ReportSection` in its own module and
appending one instance to `services.reports.registry.SECTIONS`: nothing else changes.

    class SatisfactionSection(ReportSection):
        key = "satisfaction"
        title = "Satisfaction"

        def measure(self, query):  # one or two aggregate statements, never a loop over rows
            return query.session.execute(select(func.count(), func.avg(Survey.score))...).one()

        def rows(self, current, previous):  # each figure beside the previous period's
            return [count_row(self.title, "Answers", current[0], previous[0])]

`measure` runs twice per report, for the period and for the one before (`query.detail` is
True only for the first: lists and series are needed only there). Text in rows and details is
plain; each renderer escapes it for its medium.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from services.reports.text import delta, duration, percent

if TYPE_CHECKING:
    from sqlmodel import Session

    from models.policy import Policy
    from services.reports.charts import Chart
    from services.reports.figures import Report
    from services.reports.period import Period
    from services.reports.scope import Scope
    from services.reports.sql import Sql


@dataclass(frozen=True)
class SectionQuery:
    """What a section measures: a read-only session, the policy, the scope and one period;
    `sql` holds the expressions that differ between SQLite and PostgreSQL."""

    session: Session
    policy: Policy
    scope: Scope
    period: Period
    now: datetime
    detail: bool
    sql: Sql


@dataclass(frozen=True)
class Row:
    """One line of the summary: what, this period, the previous one, and the change."""

    group: str
    label: str
    current: str
    previous: str
    change: str


def count_row(group: str, label: str, now: int, before: int | None) -> Row:
    """A count beside the previous period's (`before` None: not measured then)."""
    return Row(
        group, label, str(now), "—" if before is None else str(before), delta(now, before, "")
    )


def percent_row(group: str, label: str, now: float | None, before: float | None) -> Row:
    return Row(group, label, percent(now), percent(before), delta(now, before, "pt"))


def time_row(group: str, label: str, now: float | None, before: float | None) -> Row:
    return Row(group, label, duration(now), duration(before), delta(now, before, "s"))


@dataclass(frozen=True)
class Detail:
    """More than a figure: a line of prose (`text`) or a table (`columns`, `rows`), under a
    heading. Slack shows the first `shown` rows; the PDF and Markdown show them all."""

    heading: str
    text: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    empty: str = "None."
    shown: int = 10

    @property
    def is_table(self) -> bool:
        return bool(self.columns)


@dataclass(frozen=True)
class Records:
    """A CSV file of the records behind a section's figures (`name` like "incidents.csv")."""

    name: str
    header: list[str]
    rows: list[list[Any]]


class ReportSection:
    """One section of every report. `key` names its figures in `Figures.values` (unique);
    `title` heads its rows. Override `measure` and `rows`; the rest are optional."""

    key: ClassVar[str]
    title: ClassVar[str]

    def measure(self, query: SectionQuery) -> Any:
        """This section's figures for `query.period` (any value; `rows` reads it back). None
        when the section has nothing to say for the scope: its rows are then left out."""
        raise NotImplementedError

    def rows(self, current: Any, previous: Any) -> list[Row]:
        """The summary lines, each figure beside the previous period's (`previous` may be
        None when the section had nothing then)."""
        return []

    def details(self, report: Report, current: Any) -> list[Detail]:
        """Lists and prose after the summary (breaches, the oldest open records, …)."""
        return []

    def records(self, session: Session, report: Report) -> list[Records]:
        """CSV files of the underlying records, for `servicedesk report --format csv`."""
        return []

    def charts(self, report: Report) -> list[Chart]:
        """PNG charts, uploaded to Slack and put in the PDF."""
        return []
