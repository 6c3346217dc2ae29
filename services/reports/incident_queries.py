"""The incident figures of a report (volumes, MTTA/MTTR, SLA attainment and breaches,
backlog) and the incident records behind them, each one aggregate statement."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    String,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col

from models.base import UTCDateTime
from models.incident import OPEN_STATUSES, Incident
from models.sla_timer import SlaTimer
from services.reports.figures import (
    AGE_BUCKETS,
    Attainment,
    Backlog,
    Breach,
    Percentiles,
    Report,
)
from services.reports.period import Period
from services.reports.scope import Scope
from services.reports.sql import (
    BREACH_LIST_LIMIT,
    CANCELLED,
    RESTRICTED_SERVICE,
    RESTRICTED_TITLE,
    Sql,
    as_time,
    breached_condition,
    by_count,
    incident_scope,
    logged_in,
    timers_of_incidents,
    unless_restricted,
)


def volumes(
    sql: Sql, scope: Scope, period: Period, *, detail: bool
) -> tuple[dict[int, int], dict[str, int], list[tuple[datetime, dict[int, int]]]]:
    """Incidents by priority, by service and (with `detail`) by week and priority, from one
    grouped scan of the period. Weeks are 7-day buckets from the period's start, found by
    comparing with the bucket boundaries (cheaper than date arithmetic on every row)."""
    starts = []
    when = period.start
    while when < period.end:
        starts.append(when)
        when += timedelta(weeks=1)
    week_column: ColumnElement[Any] = literal(0)
    if detail and len(starts) > 1:
        week_column = case(
            *[(col(Incident.created_at) < boundary, i) for i, boundary in enumerate(starts[1:])],
            else_=len(starts) - 1,
        )
    service_shown = unless_restricted(Incident.service, RESTRICTED_SERVICE)
    rows = sql.session.execute(
        select(Incident.priority, service_shown, week_column.label("week"), func.count())
        .where(*logged_in(period, scope))
        .group_by(Incident.priority, service_shown, week_column)
    ).all()
    by_priority: dict[int, int] = {}
    by_service: dict[str, int] = {}
    weekly: list[dict[int, int]] = [{} for _ in starts]
    for priority, service, week_number, count in rows:
        by_priority[priority] = by_priority.get(priority, 0) + count
        name = service or "(no service)"
        by_service[name] = by_service.get(name, 0) + count
        if detail:
            bucket = weekly[int(week_number)]
            bucket[priority] = bucket.get(priority, 0) + count
    series = list(zip(starts, weekly, strict=True)) if detail else []
    return dict(sorted(by_priority.items())), by_count(by_service), series


def mtta(sql: Sql, scope: Scope, period: Period) -> Percentiles:
    value = sql.seconds(Incident.acknowledged_at, Incident.created_at)
    return sql.percentiles(
        value, [*logged_in(period, scope), col(Incident.acknowledged_at).is_not(None)]
    )


def mttr(sql: Sql, scope: Scope, period: Period) -> Percentiles:
    value = sql.seconds(Incident.resolved_at, Incident.created_at)
    # No status test: a cancelled incident has no resolution time (cancelling clears none,
    # and only open incidents can be cancelled), so the (resolved_at, created_at) index covers.
    return sql.percentiles(
        value,
        [
            col(Incident.resolved_at) >= period.start,
            col(Incident.resolved_at) < period.end,
            *incident_scope(scope),
        ],
    )


def attainment(sql: Sql, scope: Scope, period: Period, now: datetime) -> tuple[Attainment, ...]:
    breached = breached_condition(sql, now)
    met = and_(col(SlaTimer.stopped_at).is_not(None), ~breached)
    if sql.postgres:
        # Probing each incident's two timers through the index beats the hash join the
        # planner prefers, which reads every timer stored; only for this statement.
        sql.session.execute(text("SET LOCAL enable_hashjoin = off"))
    rows = sql.session.execute(
        select(
            SlaTimer.target,
            Incident.priority,
            func.sum(case((met, 1), else_=0)),
            func.sum(case((breached, 1), else_=0)),
            func.count(),
        )
        .join(SlaTimer, timers_of_incidents(sql))
        .where(*logged_in(period, scope))
        .group_by(SlaTimer.target, Incident.priority)
    ).all()
    if sql.postgres:
        sql.session.execute(text("SET LOCAL enable_hashjoin = on"))
    result = []
    for target in ("response", "resolution"):
        by_priority = {
            int(priority): (int(m or 0), int(b or 0))
            for which, priority, m, b, _ in rows
            if which == target
        }
        totals = [
            (int(m or 0), int(b or 0), int(n)) for which, _, m, b, n in rows if which == target
        ]
        met_total = sum(t[0] for t in totals)
        breached_total = sum(t[1] for t in totals)
        result.append(
            Attainment(
                target=target,
                met=met_total,
                breached=breached_total,
                running=sum(t[2] for t in totals) - met_total - breached_total,
                by_priority=dict(sorted(by_priority.items())),
            )
        )
    return tuple(result)


def breaches(sql: Sql, scope: Scope, period: Period, now: datetime) -> list[Breach]:
    rows = sql.session.execute(
        select(
            Incident.id,
            SlaTimer.target,
            Incident.priority,
            unless_restricted(Incident.service, None),
            unless_restricted(Incident.title, RESTRICTED_TITLE),
            func.coalesce(SlaTimer.due_at, SlaTimer.breached_at),
            SlaTimer.stopped_at,
        )
        .join(SlaTimer, timers_of_incidents(sql))
        .where(*logged_in(period, scope), breached_condition(sql, now))
        # In index order, so reading stops at the limit.
        .order_by(col(Incident.created_at), col(Incident.id), col(SlaTimer.target))
        .limit(BREACH_LIST_LIMIT)
    ).all()
    zone = UTCDateTime()
    return [
        Breach(
            key=f"INC-{id_}",
            target=target,
            priority=priority,
            service=service,
            title=title,
            due_at=as_time(zone, due, sql),
            stopped_at=as_time(zone, stopped, sql),
        )
        for id_, target, priority, service, title, due, stopped in rows
    ]


def backlog_at(sql: Sql, scope: Scope, at: datetime) -> Backlog:
    """Open at `at`: still open now, or resolved (or cancelled) only after `at`. Two indexed
    reads (by status, by resolution time) instead of a scan of every incident."""
    scoped = incident_scope(scope)
    if not sql.postgres and scope.services is not None and scope.agreements is None:
        # One service: SQLite would read all its incidents through (service, created_at);
        # the open-status and resolution-time indexes hold the service too and find far
        # fewer. A "+" before the column takes it off the planner's list of index keys.
        scoped = [service_not_as_index_key(scope)]
    still_open = select(Incident.created_at.label("created_at")).where(
        col(Incident.status).in_([s.value for s in OPEN_STATUSES]),
        col(Incident.created_at) < at,
        *scoped,
    )
    settled_later = select(Incident.created_at.label("created_at")).where(
        col(Incident.resolved_at) >= at, col(Incident.created_at) < at, *scoped
    )
    cancelled_later = select(Incident.created_at.label("created_at")).where(
        col(Incident.status) == CANCELLED,
        col(Incident.closed_at) >= at,
        col(Incident.created_at) < at,
        *scoped,
    )
    backlog = union_all(still_open, settled_later, cancelled_later).subquery()
    age = sql.seconds(sql.at(at), backlog.c.created_at)
    bucket_cases = []
    for index, (_, bound) in enumerate(AGE_BUCKETS):
        if bound is not None:
            bucket_cases.append((age < bound, index))
    bucket = case(*bucket_cases, else_=len(AGE_BUCKETS) - 1)
    rows = sql.session.execute(
        select(bucket.label("bucket"), func.count(), func.max(age)).group_by(bucket)
    ).all()
    by_age = {label: 0 for label, _ in AGE_BUCKETS}
    oldest: float | None = None
    for index, count, longest in rows:
        by_age[AGE_BUCKETS[int(index)][0]] += count
        if longest is not None:
            oldest = max(oldest or 0.0, float(longest))
    return Backlog(open=sum(by_age.values()), by_age=by_age, oldest_s=oldest)


def service_not_as_index_key(scope: Scope) -> Any:
    """The service filter with the column behind SQLite's unary "+": the same rows, but
    never an index key."""
    column = literal_column("+incident.service", String)
    return column.in_(list(scope.services or ()))


# ---- the underlying records, for the CSV export -------------------------------------------


def incident_records(session: Session, report: Report) -> list[dict[str, Any]]:
    """The incidents the period's figures count, with their SLA outcome (CSV export)."""
    sql = Sql(session)
    now = report.generated_at
    breached = breached_condition(sql, now)
    outcome = case(
        (breached, "breached"),
        (col(SlaTimer.stopped_at).is_not(None), "met"),
        else_="running",
    )
    response = (
        select(outcome)
        .where(SlaTimer.record_key == sql.key("INC", Incident.id), SlaTimer.target == "response")
        .scalar_subquery()
    )
    resolution = (
        select(outcome)
        .where(SlaTimer.record_key == sql.key("INC", Incident.id), SlaTimer.target == "resolution")
        .scalar_subquery()
    )
    # Plain columns, not Incident objects: a year's pack exports a million of them.
    rows = session.execute(
        select(
            Incident.id,
            Incident.title,
            Incident.priority,
            Incident.service,
            Incident.category,
            Incident.status,
            Incident.created_at,
            Incident.acknowledged_at,
            Incident.resolved_at,
            Incident.restricted,
            response.label("response"),
            resolution.label("resolution"),
        )
        .where(*logged_in(report.period, report.scope))
        .order_by(col(Incident.id))
    )
    hidden = {"title": RESTRICTED_TITLE, "service": "", "category": ""}
    return [
        {
            "key": f"INC-{row.id}",
            "title": row.title,
            "priority": f"P{row.priority}",
            "service": row.service or "",
            "category": row.category or "",
            "status": row.status,
            "created_at": row.created_at.isoformat(),
            "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else "",
            "resolved_at": row.resolved_at.isoformat() if row.resolved_at else "",
            "response_sla": row.response or "",
            "resolution_sla": row.resolution or "",
        }
        | (hidden if row.restricted else {})
        for row in rows
    ]
