"""Building a report: each registered section (services.reports.registry) measures its
figures for the period and the one before. Every figure is an aggregate the database
computes (counts, sums, window functions, percentiles), so a month over a million stored
incidents stays fast.

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

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from models.policy import Policy
from services.reports.figures import Figures, Report
from services.reports.period import Period
from services.reports.scope import Scope
from services.reports.sections import ReportSection, SectionQuery
from services.reports.sql import Sql


def build_report(
    session: Session,
    policy: Policy,
    scope: Scope,
    period: Period,
    now: datetime,
    *,
    attainment_target: float = 95.0,
    sections: Sequence[ReportSection] | None = None,
    previous: Figures | None = None,
) -> Report:
    """The report of `scope` over `period`, each figure with the previous period's beside it.
    `sections` defaults to every registered one; `previous`, the figures of the period before
    when the caller has them already (a run of months measures each month once)."""
    if sections is None:
        from services.reports.registry import sections as registered

        sections = registered()
    chosen = tuple(sections)
    current = figures(session, policy, scope, period, now, chosen, detail=True)
    if previous is None:
        previous = figures(session, policy, scope, period.previous(), now, chosen, detail=False)
    return Report(
        scope=scope,
        period=period,
        generated_at=now,
        current=current,
        previous=previous,
        sections=chosen,
        attainment_target=attainment_target,
    )


def figures(
    session: Session,
    policy: Policy,
    scope: Scope,
    period: Period,
    now: datetime,
    sections: Sequence[ReportSection],
    *,
    detail: bool,
) -> Figures:
    """Every section's figures for one period; `detail` asks for lists and series too."""
    query = SectionQuery(
        session=session,
        policy=policy,
        scope=scope,
        period=period,
        now=now,
        detail=detail,
        sql=Sql(session),
    )
    return Figures(period=period, values={s.key: s.measure(query) for s in sections})
