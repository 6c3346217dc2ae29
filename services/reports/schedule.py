"""Scheduled reports: which are due, and the claim that makes each go out once per period.

A report is due for the period before its schedule's latest firing (so a report missed while
the bot was down is due as soon as it starts). Before building it, a sweep claims the row
(report name, period start) in `report_run`; the unique constraint lets only one instance
win, and the claim outlives a restart. A failed send releases the claim so the next sweep
tries again; a claim left by an instance that died mid-send is taken over after a while.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from sqlalchemy import delete, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.policy import Policy
from models.report import ReportRun, RunStatus
from models.report_policy import ScheduledReport
from services.reports.period import Period, last_month, last_week

# A claim this old still marked "sending" belonged to an instance that stopped mid-send.
STALE_CLAIM = timedelta(minutes=30)


@dataclass(frozen=True)
class DueReport:
    report: ScheduledReport
    period: Period


def period_for(report: ScheduledReport, fired_at: datetime) -> Period:
    return last_week(fired_at) if report.period == "last week" else last_month(fired_at)


def latest_firing(report: ScheduledReport, now: datetime) -> datetime:
    """The schedule's most recent firing at or before `now` (UTC)."""
    return croniter(report.schedule, now + timedelta(seconds=1)).get_prev(datetime)


def due(policy: Policy, now: datetime) -> list[DueReport]:
    """Each scheduled report with the period its latest firing covers (claimed or not)."""
    return [
        DueReport(report=report, period=period_for(report, latest_firing(report, now)))
        for report in policy.reports
    ]


def claim_due(session: Session, *, policy: Policy, now: datetime) -> list[DueReport]:
    """Claim every due report not yet sent or being sent; returns the ones this call won.
    One read for all reports, then one insert per report not yet claimed."""
    candidates = due(policy, now)
    if not candidates:
        return []
    keys = [(c.report.name, c.period.start) for c in candidates]
    existing = {
        (name, start): (status, claimed)
        for name, start, status, claimed in session.execute(
            select(
                ReportRun.report_name,
                ReportRun.period_start,
                ReportRun.status,
                ReportRun.claimed_at,
            ).where(tuple_(col(ReportRun.report_name), col(ReportRun.period_start)).in_(keys))
        )
    }
    won = []
    for candidate in candidates:
        key = (candidate.report.name, candidate.period.start)
        found = existing.get(key)
        if found is None:
            if _insert(session, candidate, now):
                won.append(candidate)
        elif found[0] == RunStatus.SENDING.value and found[1] < now - STALE_CLAIM:
            if _take_over(session, candidate, now):
                won.append(candidate)
    return won


def _insert(session: Session, candidate: DueReport, now: datetime) -> bool:
    try:
        with session.begin_nested():
            session.add(
                ReportRun(
                    report_name=candidate.report.name,
                    period_start=candidate.period.start,
                    period_end=candidate.period.end,
                    claimed_at=now,
                    channel=candidate.report.channel,
                )
            )
            session.flush()
    except IntegrityError:
        return False  # another instance claimed it first
    return True


def _take_over(session: Session, candidate: DueReport, now: datetime) -> bool:
    # Conditional on the stale claim time: of two instances taking over, one matches.
    result = session.execute(
        update(ReportRun)
        .where(
            col(ReportRun.report_name) == candidate.report.name,
            col(ReportRun.period_start) == candidate.period.start,
            col(ReportRun.status) == RunStatus.SENDING.value,
            col(ReportRun.claimed_at) < now - STALE_CLAIM,
        )
        .values(claimed_at=now)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def mark_sent(session: Session, *, name: str, period_start: datetime, now: datetime) -> None:
    """The report went out: its claim stays for good, so it is never sent again."""
    session.execute(
        update(ReportRun)
        .where(col(ReportRun.report_name) == name, col(ReportRun.period_start) == period_start)
        .values(status=RunStatus.SENT.value, sent_at=now)
    )


def release(session: Session, *, name: str, period_start: datetime) -> None:
    """Sending failed: drop the claim so the next sweep tries again."""
    session.execute(
        delete(ReportRun).where(
            col(ReportRun.report_name) == name,
            col(ReportRun.period_start) == period_start,
            col(ReportRun.status) == RunStatus.SENDING.value,
        )
    )
