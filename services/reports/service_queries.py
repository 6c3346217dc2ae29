"""The service figures of a report (availability with outages merged by the database,
requests, changes, problems, tests) and the change records behind them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlmodel import Session, col

from models.availability import RunStatus, TestRun
from models.change import Change, ChangeTarget, ChangeType
from models.incident import OPEN_STATUSES, Incident
from models.links import RecordLink
from models.policy import Policy
from models.problem import Problem
from models.service_request import RequestStatus, ServiceRequest
from models.sla_timer import SlaTimer
from services import availability
from services.reports.figures import (
    Changes,
    Problems,
    Report,
    Requests,
    Tests,
    Uptime,
)
from services.reports.period import Period
from services.reports.scope import Scope
from services.reports.sql import (
    CANCELLED,
    CAUSED_BY,
    SUCCESS_OUTCOMES,
    Sql,
    agreement_column,
    by_count,
)

# ---- availability -----------------------------------------------------------------------------

OUTAGE_IMPACT = "'high'"  # SQL text: the partial indexes' predicate is impact = 'high'


def availability_of(
    sql: Sql, policy: Policy, scope: Scope, period: Period, now: datetime
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
    # 'high' written into the statement, not bound: only then may the planner read the
    # partial indexes on high-impact incidents (migration 0025), which cover every part.
    base = [Incident.impact == literal_column(OUTAGE_IMPACT), col(Incident.status) != CANCELLED]
    # For the part read by resolution time the service is tested through coalesce(), which no
    # index serves: otherwise the planner may walk a service's whole history instead.
    in_services = col(Incident.service).in_(names)
    any_of_services = func.coalesce(Incident.service, "").in_(names)
    columns = (
        Incident.service.label("service"),
        Incident.created_at.label("created_at"),
        Incident.resolved_at.label("resolved_at"),
    )
    overlapping = (
        union_all(
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
        )
        .cte("overlapping")
        .prefix_with("MATERIALIZED")
    )
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
        by_service[service].append(span(float(s), float(e), origin, period.start))
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


def span(s: float, e: float, origin: float, start: datetime) -> tuple[datetime, datetime]:
    # Back from epoch seconds to instants, rounded to the millisecond the float can carry.
    return (
        start + timedelta(milliseconds=round((s - origin) * 1000)),
        start + timedelta(milliseconds=round((e - origin) * 1000)),
    )


# ---- requests, changes, problems, backlog, tests ------------------------------------------


def requests_of(sql: Sql, scope: Scope, period: Period, now: datetime) -> Requests:
    where: list[Any] = [
        col(ServiceRequest.fulfilled_at) >= period.start,
        col(ServiceRequest.fulfilled_at) < period.end,
        col(ServiceRequest.status) != RequestStatus.CANCELLED.value,
    ]
    agreement = agreement_column(ServiceRequest)
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


def _changes_in(sql: Sql, scope: Scope, period: Period) -> tuple[list[Any], Any]:
    """The filter of the changes implemented in the period on the scope's services, and the
    test that an incident names the change as its cause."""
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
    return where, caused


def changes_of(sql: Sql, scope: Scope, period: Period) -> Changes:
    where, caused = _changes_in(sql, scope, period)
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
        by_type=by_count(by_type),
        by_outcome=by_count(by_outcome),
        implemented=implemented,
        reviewed=reviewed,
        successful=successful,
        emergency=emergency,
        caused_incidents=caused_count,
    )


def problems_of(sql: Sql, scope: Scope, period: Period) -> Problems:
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


def tests_of(sql: Sql, scope: Scope, period: Period) -> Tests:
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


def change_records(session: Session, report: Report) -> list[dict[str, Any]]:
    """The changes implemented in the period (CSV export)."""
    where, caused = _changes_in(Sql(session), report.scope, report.period)
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
