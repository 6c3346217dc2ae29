"""Building a report: every figure is an aggregate the database computes (counts, sums,
window functions, percentiles), so a month over a million stored incidents stays fast.

Definitions (the README's "Service reports" section repeats them for readers):
- Incidents of a period: logged in it, cancelled ones left out.
- MTTA: logged in the period and acknowledged, acknowledged_at − created_at.
  MTTR: resolved in the period, resolved_at − created_at (a reopened incident counts from its
  creation to its final resolution). Both wall-clock; medians and 90th percentiles are
  interpolated between ranks like PostgreSQL's percentile_cont.
- SLA attainment: the response and resolution targets of the incidents logged in the period,
  as of now. Breached when the sweep marked it or it stopped (or is still running) after its
  due time (`sla_timer.due_at`, which counts pauses and business hours); met when stopped in
  time; the rest are still running and left out of the percentage.
- Availability: high-impact incidents on a service (and failing URL-check streaks) are
  outages; overlapping ones merge; agreed time is the whole period.
- Requests: fulfilled in the period; on time when fulfilled by their fulfilment target.
- Changes: implemented in the period; success = reviewed successful (with or without issues)
  / reviewed; caused incidents = linked "caused by" from an incident.
- Backlog: incidents open at the end of the period (or now, if sooner), by age then.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col

from models.availability import RunStatus, TestRun
from models.base import UTCDateTime
from models.change import Change, ChangeTarget, ChangeType, ReviewOutcome
from models.incident import OPEN_STATUSES, Incident, IncidentStatus
from models.links import RecordLink
from models.policy import Policy
from models.problem import Problem
from models.service_request import RequestStatus, ServiceRequest
from models.sla_timer import SlaTimer
from services import availability
from services.reports.figures import (
    AGE_BUCKETS,
    SECTION_BUILDERS,
    Attainment,
    Backlog,
    Breach,
    Changes,
    Figures,
    Percentiles,
    Problems,
    Report,
    Requests,
    SectionQuery,
    Tests,
    Uptime,
)
from services.reports.period import Period
from services.reports.scope import Scope

BREACH_LIST_LIMIT = 200
WEEK_SECONDS = 7 * 86400
CAUSED_BY = "caused by"
SUCCESS_OUTCOMES = (ReviewOutcome.SUCCESSFUL.value, ReviewOutcome.SUCCESSFUL_WITH_ISSUES.value)
CANCELLED = IncidentStatus.CANCELLED.value


def build_report(
    session: Session,
    policy: Policy,
    scope: Scope,
    period: Period,
    now: datetime,
    *,
    attainment_target: float = 95.0,
) -> Report:
    """The report of `scope` over `period`, each figure with the previous period's beside it."""
    current = figures(session, policy, scope, period, now, detail=True)
    previous = figures(session, policy, scope, period.previous(), now, detail=False)
    return Report(
        scope=scope,
        period=period,
        generated_at=now,
        current=current,
        previous=previous,
        attainment_target=attainment_target,
    )


def figures(
    session: Session, policy: Policy, scope: Scope, period: Period, now: datetime, *, detail: bool
) -> Figures:
    """Every figure of one period; `detail` adds the weekly series and the breach list."""
    sql = _Sql(session)
    by_priority, by_service, weekly = _volumes(sql, scope, period, detail=detail)
    response, resolution = _attainment(sql, scope, period, now)
    query = SectionQuery(session=session, policy=policy, scope=scope, period=period, now=now)
    sections = [s for s in (builder(query) for builder in SECTION_BUILDERS) if s is not None]
    return Figures(
        period=period,
        incidents=sum(by_priority.values()),
        by_priority=by_priority,
        by_service=by_service,
        weekly=weekly,
        mtta=_mtta(sql, scope, period),
        mttr=_mttr(sql, scope, period),
        response=response,
        resolution=resolution,
        breaches=_breaches(sql, scope, period, now) if detail else [],
        availability=_availability(sql, policy, scope, period, now),
        requests=_requests(sql, scope, period, now),
        changes=_changes(sql, scope, period),
        problems=_problems(sql, scope, period),
        backlog=_backlog(sql, scope, min(period.end, now)),
        tests=_tests(sql, scope, period),
        sections=sections,
    )


class _Sql:
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
        ranked = (
            select(
                value.label("v"),
                (func.row_number().over(order_by=value) - 1).label("rank"),
                func.count().over().label("n"),
            )
            .where(*where)
            .subquery()
        )
        near = [func.abs(ranked.c.rank - p * (ranked.c.n - 1)) <= 1 for p in (0.5, 0.9)]
        rows = self.session.execute(
            select(ranked.c.v, ranked.c.rank, ranked.c.n).where(or_(*near))
        ).all()
        if not rows:
            return Percentiles()
        values = {int(rank): float(v) for v, rank, _ in rows}
        count = int(rows[0][2])
        return Percentiles(
            count=count,
            median=_interpolate(values, 0.5, count),
            p90=_interpolate(values, 0.9, count),
        )


def _interpolate(values: dict[int, float], p: float, count: int) -> float:
    position = p * (count - 1)
    low = int(position)
    high = min(low + 1, count - 1)
    fraction = position - low
    if fraction == 0:
        return values[low]
    return values[low] + fraction * (values[high] - values[low])


# ---- scope filters ----------------------------------------------------------------------------


def _agreement_column(table: Any) -> Any | None:
    """The `agreement` column of incidents and requests, where the schema has one."""
    return getattr(table, "agreement", None)


def _incident_scope(scope: Scope) -> list[Any]:
    agreement = _agreement_column(Incident)
    if scope.agreements is not None and agreement is not None:
        return [col(agreement).in_(scope.agreements)]
    if scope.services is not None:
        return [col(Incident.service).in_(scope.services)]
    return []


def _logged_in(period: Period, scope: Scope) -> list[Any]:
    return [
        col(Incident.created_at) >= period.start,
        col(Incident.created_at) < period.end,
        col(Incident.status) != CANCELLED,
        *_incident_scope(scope),
    ]


# ---- incidents --------------------------------------------------------------------------------


def _volumes(
    sql: _Sql, scope: Scope, period: Period, *, detail: bool
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
    rows = sql.session.execute(
        select(Incident.priority, Incident.service, week_column.label("week"), func.count())
        .where(*_logged_in(period, scope))
        .group_by(Incident.priority, Incident.service, week_column)
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
    return dict(sorted(by_priority.items())), _by_count(by_service), series


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _mtta(sql: _Sql, scope: Scope, period: Period) -> Percentiles:
    value = sql.seconds(Incident.acknowledged_at, Incident.created_at)
    return sql.percentiles(
        value, [*_logged_in(period, scope), col(Incident.acknowledged_at).is_not(None)]
    )


def _mttr(sql: _Sql, scope: Scope, period: Period) -> Percentiles:
    value = sql.seconds(Incident.resolved_at, Incident.created_at)
    # No status test: a cancelled incident has no resolution time (cancelling clears none,
    # and only open incidents can be cancelled), so the (resolved_at, created_at) index covers.
    return sql.percentiles(
        value,
        [
            col(Incident.resolved_at) >= period.start,
            col(Incident.resolved_at) < period.end,
            *_incident_scope(scope),
        ],
    )


def _breached(sql: _Sql, now: datetime) -> ColumnElement[bool]:
    return or_(
        col(SlaTimer.breached_at).is_not(None),
        and_(
            col(SlaTimer.due_at).is_not(None),
            func.coalesce(SlaTimer.stopped_at, sql.at(now)) > SlaTimer.due_at,
        ),
    )


def _timers_of_incidents(sql: _Sql) -> Any:
    return SlaTimer.record_key == sql.key("INC", Incident.id)


def _attainment(sql: _Sql, scope: Scope, period: Period, now: datetime) -> tuple[Attainment, ...]:
    breached = _breached(sql, now)
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
        .join(SlaTimer, _timers_of_incidents(sql))
        .where(*_logged_in(period, scope))
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


def _breaches(sql: _Sql, scope: Scope, period: Period, now: datetime) -> list[Breach]:
    rows = sql.session.execute(
        select(
            Incident.id,
            SlaTimer.target,
            Incident.priority,
            Incident.service,
            Incident.title,
            func.coalesce(SlaTimer.due_at, SlaTimer.breached_at),
            SlaTimer.stopped_at,
        )
        .join(SlaTimer, _timers_of_incidents(sql))
        .where(*_logged_in(period, scope), _breached(sql, now))
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
            due_at=_as_time(zone, due, sql),
            stopped_at=_as_time(zone, stopped, sql),
        )
        for id_, target, priority, service, title, due, stopped in rows
    ]


def _as_time(zone: UTCDateTime, value: Any, sql: _Sql) -> datetime | None:
    """A timestamp read through coalesce() comes back untyped on SQLite: parse it like the
    column type would."""
    if value is None or isinstance(value, datetime):
        return zone.process_result_value(value, None) if value is not None else None
    return zone.process_result_value(datetime.fromisoformat(str(value)), None)


# ---- availability -----------------------------------------------------------------------------


def _availability(
    sql: _Sql, policy: Policy, scope: Scope, period: Period, now: datetime
) -> list[Uptime]:
    """Per service: outages merged by the database (gaps and islands over the high-impact
    incidents, ordered by start with the running latest end before each), then joined with
    failing URL-check streaks."""
    names = (
        list(scope.services) if scope.services is not None else [s.name for s in policy.services]
    )
    if not names:
        return []
    end = min(period.end, now)
    if end <= period.start:
        return [Uptime(service=n, agreed_s=0.0, downtime_s=0.0, outages=0) for n in names]
    start_s = sql.epoch(sql.at(period.start))
    end_s = sql.epoch(sql.at(end))
    # The high-impact incidents overlapping the period, read in three disjoint parts that
    # each follow an index: logged in it; logged before and resolved in or after it; logged
    # before and still open. Materialised, so the window functions' ordering by service is
    # not pushed into the parts (which would walk the service index instead).
    base = [Incident.impact == "high", col(Incident.status) != CANCELLED]
    # For the part read by resolution time the service is tested through coalesce(), which no
    # index serves: otherwise the planner may walk a service's whole history instead.
    in_services = col(Incident.service).in_(names)
    any_of_services = func.coalesce(Incident.service, "").in_(names)
    columns = (
        Incident.service.label("service"),
        Incident.created_at.label("created_at"),
        Incident.resolved_at.label("resolved_at"),
    )
    overlapping = union_all(
        select(*columns).where(
            *base,
            in_services,
            col(Incident.created_at) >= period.start,
            col(Incident.created_at) < end,
        ),
        select(*columns).where(
            *base,
            any_of_services,
            col(Incident.resolved_at) > period.start,
            col(Incident.created_at) < period.start,
        ),
        select(*columns).where(
            *base,
            in_services,
            col(Incident.status).in_([s.value for s in OPEN_STATUSES]),
            col(Incident.created_at) < period.start,
        ),
    ).cte("overlapping").prefix_with("MATERIALIZED")
    began = sql.epoch(overlapping.c.created_at)
    ended = sql.epoch(func.coalesce(overlapping.c.resolved_at, sql.at(end)))
    spans = select(
        overlapping.c.service.label("service"),
        case((began < start_s, start_s), else_=began).label("s"),
        case((ended > end_s, end_s), else_=ended).label("e"),
    ).subquery()
    reach = (
        func.max(spans.c.e)
        .over(partition_by=spans.c.service, order_by=spans.c.s, rows=(None, -1))
        .label("reach")
    )
    flagged = select(spans.c.service, spans.c.s, spans.c.e, reach).subquery()
    starts_island = case(
        (or_(flagged.c.reach.is_(None), flagged.c.s > flagged.c.reach), 1), else_=0
    )
    numbered = select(
        flagged.c.service,
        flagged.c.s,
        flagged.c.e,
        func.sum(starts_island)
        .over(partition_by=flagged.c.service, order_by=flagged.c.s, rows=(None, 0))
        .label("island"),
    ).subquery()
    islands = sql.session.execute(
        select(numbered.c.service, func.min(numbered.c.s), func.max(numbered.c.e))
        .where(numbered.c.e > numbered.c.s)
        .group_by(numbered.c.service, numbered.c.island)
    ).all()
    origin = period.start.timestamp()
    by_service: dict[str, list[tuple[datetime, datetime]]] = {n: [] for n in names}
    for service, s, e in islands:
        by_service[service].append(_span(float(s), float(e), origin, period.start))
    failures = policy.availability.failures_before_incident
    result = []
    for name in names:
        spans_of = by_service[name] + availability.url_check_spans(
            sql.session, service=name, start=period.start, now=end, failures_needed=failures
        )
        merged = availability.merge(spans_of, start=period.start, end=end)
        downtime = sum((b - a).total_seconds() for a, b in merged)
        result.append(
            Uptime(
                service=name,
                agreed_s=(end - period.start).total_seconds(),
                downtime_s=downtime,
                outages=len(merged),
                target=scope.targets.get(name),
            )
        )
    return result


def _span(s: float, e: float, origin: float, start: datetime) -> tuple[datetime, datetime]:
    # Back from epoch seconds to instants, rounded to the millisecond the float can carry.
    return (
        start + timedelta(milliseconds=round((s - origin) * 1000)),
        start + timedelta(milliseconds=round((e - origin) * 1000)),
    )


# ---- requests, changes, problems, backlog, tests ------------------------------------------


def _requests(sql: _Sql, scope: Scope, period: Period, now: datetime) -> Requests:
    where: list[Any] = [
        col(ServiceRequest.fulfilled_at) >= period.start,
        col(ServiceRequest.fulfilled_at) < period.end,
        col(ServiceRequest.status) != RequestStatus.CANCELLED.value,
    ]
    agreement = _agreement_column(ServiceRequest)
    service = getattr(ServiceRequest, "service", None)
    if scope.agreements is not None and agreement is not None:
        where.append(col(agreement).in_(scope.agreements))
    elif scope.services is not None and service is not None:
        where.append(col(service).in_(scope.services))
    elif scope.kind != "all":
        # Requests from catalog items that name no service cannot be scoped to one.
        return Requests(applicable=False)
    late = or_(
        col(SlaTimer.breached_at).is_not(None),
        and_(col(SlaTimer.due_at).is_not(None), ServiceRequest.fulfilled_at > SlaTimer.due_at),
    )
    timer = and_(
        SlaTimer.record_key == sql.key("REQ", ServiceRequest.id),
        SlaTimer.target == "resolution",
    )
    fulfilled, on_time = sql.session.execute(
        select(func.count(), func.sum(case((late, 0), else_=1)))
        .select_from(ServiceRequest)
        .outerjoin(SlaTimer, timer)
        .where(*where)
    ).one()
    return Requests(fulfilled=int(fulfilled or 0), on_time=int(on_time or 0))


def _changes(sql: _Sql, scope: Scope, period: Period) -> Changes:
    where: list[Any] = [
        col(Change.implemented_at) >= period.start,
        col(Change.implemented_at) < period.end,
    ]
    if scope.services is not None:
        where.append(
            exists().where(
                ChangeTarget.change_id == Change.id,
                func.lower(ChangeTarget.target).in_([s.lower() for s in scope.services]),
            )
        )
    caused = exists().where(RecordLink.b == sql.key("CHG", Change.id), RecordLink.kind == CAUSED_BY)
    rows = sql.session.execute(
        select(
            Change.type,
            Change.review_outcome,
            func.count(),
            func.sum(case((caused, 1), else_=0)),
        )
        .where(*where)
        .group_by(Change.type, Change.review_outcome)
    ).all()
    by_type: dict[str, int] = {}
    by_outcome: dict[str, int] = {}
    reviewed = successful = emergency = caused_count = implemented = 0
    for change_type, outcome, count, caused_n in rows:
        implemented += count
        by_type[change_type] = by_type.get(change_type, 0) + count
        label = outcome or "not reviewed"
        by_outcome[label] = by_outcome.get(label, 0) + count
        if outcome is not None:
            reviewed += count
            if outcome in SUCCESS_OUTCOMES:
                successful += count
        if change_type == ChangeType.EMERGENCY.value:
            emergency += count
        caused_count += int(caused_n or 0)
    return Changes(
        by_type=_by_count(by_type),
        by_outcome=_by_count(by_outcome),
        implemented=implemented,
        reviewed=reviewed,
        successful=successful,
        emergency=emergency,
        caused_incidents=caused_count,
    )


def _problems(sql: _Sql, scope: Scope, period: Period) -> Problems:
    scoped = [col(Problem.service).in_(scope.services)] if scope.services is not None else []

    def count_in(column: Any) -> Any:
        return (
            select(func.count())
            .select_from(Problem)
            .where(column >= period.start, column < period.end, *scoped)
            .scalar_subquery()
        )

    opened, resolved, known = sql.session.execute(
        select(
            count_in(col(Problem.created_at)),
            count_in(col(Problem.resolved_at)),
            count_in(col(Problem.known_error_at)),
        )
    ).one()
    return Problems(opened=int(opened), resolved=int(resolved), known_errors=int(known))


def _backlog(sql: _Sql, scope: Scope, at: datetime) -> Backlog:
    """Open at `at`: still open now, or resolved (or cancelled) only after `at`. Two indexed
    reads (by status, by resolution time) instead of a scan of every incident."""
    scoped = _incident_scope(scope)
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


def _tests(sql: _Sql, scope: Scope, period: Period) -> Tests:
    where: list[Any] = [col(TestRun.due_at) >= period.start, col(TestRun.due_at) < period.end]
    if scope.services is not None:
        where.append(col(TestRun.service).in_(scope.services))
    done_states = (RunStatus.PASSED.value, RunStatus.FAILED.value)
    due, done, failed = sql.session.execute(
        select(
            func.count(),
            func.sum(case((col(TestRun.status).in_(done_states), 1), else_=0)),
            func.sum(case((TestRun.status == RunStatus.FAILED.value, 1), else_=0)),
        ).where(*where)
    ).one()
    return Tests(due=int(due), done=int(done or 0), failed=int(failed or 0))


# ---- the underlying records, for the CSV export -------------------------------------------


def incident_records(session: Session, report: Report) -> list[dict[str, Any]]:
    """The incidents the period's figures count, with their SLA outcome (CSV export)."""
    sql = _Sql(session)
    now = report.generated_at
    breached = _breached(sql, now)
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
    rows = session.execute(
        select(Incident, response.label("response"), resolution.label("resolution"))
        .where(*_logged_in(report.period, report.scope))
        .order_by(col(Incident.id))
    ).all()
    return [
        {
            "key": incident.key,
            "title": incident.title,
            "priority": f"P{incident.priority}",
            "service": incident.service or "",
            "category": incident.category or "",
            "status": incident.status,
            "created_at": incident.created_at.isoformat(),
            "acknowledged_at": incident.acknowledged_at.isoformat()
            if incident.acknowledged_at
            else "",
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else "",
            "response_sla": response_outcome or "",
            "resolution_sla": resolution_outcome or "",
        }
        for incident, response_outcome, resolution_outcome in rows
    ]


def change_records(session: Session, report: Report) -> list[dict[str, Any]]:
    """The changes implemented in the period (CSV export)."""
    sql = _Sql(session)
    where: list[Any] = [
        col(Change.implemented_at) >= report.period.start,
        col(Change.implemented_at) < report.period.end,
    ]
    scope = report.scope
    if scope.services is not None:
        where.append(
            exists().where(
                ChangeTarget.change_id == Change.id,
                func.lower(ChangeTarget.target).in_([s.lower() for s in scope.services]),
            )
        )
    caused = exists().where(RecordLink.b == sql.key("CHG", Change.id), RecordLink.kind == CAUSED_BY)
    rows = session.execute(
        select(Change, caused.label("caused")).where(*where).order_by(col(Change.id))
    ).all()
    return [
        {
            "key": change.key,
            "title": change.title,
            "type": change.type,
            "risk": change.risk,
            "status": change.status,
            "implemented_at": change.implemented_at.isoformat() if change.implemented_at else "",
            "review_outcome": change.review_outcome or "",
            "caused_incidents": "yes" if caused_flag else "no",
        }
        for change, caused_flag in rows
    ]
