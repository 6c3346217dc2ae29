"""What the report's queries share: the expressions that differ between SQLite and
PostgreSQL, the scope filters, and the SLA breach test."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col

from models.base import UTCDateTime
from models.change import ReviewOutcome
from models.incident import Incident, IncidentStatus
from models.sla_timer import SlaTimer
from services.reports.figures import (
    Percentiles,
)
from services.reports.period import Period
from services.reports.scope import Scope

BREACH_LIST_LIMIT = 200
WEEK_SECONDS = 7 * 86400
CAUSED_BY = "caused by"
SUCCESS_OUTCOMES = (ReviewOutcome.SUCCESSFUL.value, ReviewOutcome.SUCCESSFUL_WITH_ISSUES.value)
CANCELLED = IncidentStatus.CANCELLED.value


class Sql:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def at(self, when: datetime) -> ColumnElement[Any]:
        return literal(when, UTCDateTime())

    def epoch(self, value: Any) -> ColumnElement[float]:
        """Seconds since 1970 of a timestamp column or value."""
        if self.postgres:
            return func.extract("epoch", value)
        return (func.julianday(value) - 2440587.5) * 86400.0

    def seconds(self, later: Any, earlier: Any) -> ColumnElement[float]:
        return self.epoch(later) - self.epoch(earlier)

    def floor(self, value: ColumnElement[Any]) -> ColumnElement[int]:
        # SQLite's CAST truncates, which is the floor for the non-negative values used here.
        return cast(func.floor(value), Integer) if self.postgres else cast(value, Integer)

    def key(self, prefix: str, id_column: Any) -> ColumnElement[str]:
        return literal(f"{prefix}-") + cast(id_column, String)

    def percentiles(self, value: ColumnElement[Any], where: list[Any]) -> Percentiles:
        """Median and 90th percentile of `value` over rows matching `where`, computed by the
        database: percentile_cont on PostgreSQL; on SQLite the rows ranked by a window
        function, of which only the (at most four) rows around each rank are read."""
        if self.postgres:
            count, median, p90 = self.session.execute(
                select(
                    func.count(),
                    func.percentile_cont(0.5).within_group(value),
                    func.percentile_cont(0.9).within_group(value),
                ).where(*where)
            ).one()
            return Percentiles(
                count=count,
                median=float(median) if median is not None else None,
                p90=float(p90) if p90 is not None else None,
            )
        # The count first (an index range), then one window pass ranking the values: a
        # count() over () beside the rank would buffer every row a second time.
        count = int(self.session.execute(select(func.count()).where(*where)).scalar_one())
        if not count:
            return Percentiles()
        ranks = sorted(
            {
                rank
                for p in (0.5, 0.9)
                for rank in (int(p * (count - 1)), min(int(p * (count - 1)) + 1, count - 1))
            }
        )
        # The value computed once per row in an inner query and ranked over that: ranking
        # over the expression itself evaluates it again in the window's sort (1.7x the CPU).
        values_of = select(value.label("v")).where(*where).subquery()
        ranked = select(
            values_of.c.v,
            (func.row_number().over(order_by=values_of.c.v) - 1).label("rank"),
        ).subquery()
        rows = self.session.execute(
            select(ranked.c.v, ranked.c.rank).where(ranked.c.rank.in_(ranks))
        ).all()
        values = {int(rank): float(v) for v, rank in rows}
        return Percentiles(
            count=count,
            median=interpolate(values, 0.5, count),
            p90=interpolate(values, 0.9, count),
        )


def interpolate(values: dict[int, float], p: float, count: int) -> float:
    position = p * (count - 1)
    low = int(position)
    high = min(low + 1, count - 1)
    fraction = position - low
    if fraction == 0:
        return values[low]
    return values[low] + fraction * (values[high] - values[low])


# ---- scope filters ----------------------------------------------------------------------------


def agreement_column(table: Any) -> Any | None:
    """The `agreement` column of incidents and requests, where the schema has one."""
    return getattr(table, "agreement", None)


def incident_scope(scope: Scope) -> list[Any]:
    agreement = agreement_column(Incident)
    if scope.agreements is not None and agreement is not None:
        return [col(agreement).in_(scope.agreements)]
    if scope.services is not None:
        return [col(Incident.service).in_(scope.services)]
    return []


# What a report says of a restricted (security) incident: it is counted, never described.
RESTRICTED_TITLE = "Restricted incident"
RESTRICTED_SERVICE = "(restricted)"


def unless_restricted(column: Any, shown_instead: str | None) -> Any:
    """`column`, or `shown_instead` for a restricted incident."""
    return case((col(Incident.restricted), shown_instead), else_=column)


def logged_in(period: Period, scope: Scope) -> list[Any]:
    return [
        col(Incident.created_at) >= period.start,
        col(Incident.created_at) < period.end,
        col(Incident.status) != CANCELLED,
        *incident_scope(scope),
    ]


def by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def breached_condition(sql: Sql, now: datetime) -> ColumnElement[bool]:
    return or_(
        col(SlaTimer.breached_at).is_not(None),
        and_(
            col(SlaTimer.due_at).is_not(None),
            func.coalesce(SlaTimer.stopped_at, sql.at(now)) > SlaTimer.due_at,
        ),
    )


def timers_of_incidents(sql: Sql) -> Any:
    return SlaTimer.record_key == sql.key("INC", Incident.id)


def as_time(zone: UTCDateTime, value: Any, sql: Sql) -> datetime | None:
    """A timestamp read through coalesce() comes back untyped on SQLite: parse it like the
    column type would."""
    if value is None or isinstance(value, datetime):
        return zone.process_result_value(value, None) if value is not None else None
    return zone.process_result_value(datetime.fromisoformat(str(value)), None)
