"""The scheduled-reports job: claim what is due, build each report, hand it to Slack."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.db import Database
from models.policy import Policy
from services import reports
from services.clock import Clock
from services.reports import schedule
from services.reports.figures import Report

log = logging.getLogger(__name__)

SendReport = Callable[[str, Report], object]


def sweep_reports(*, db: Database, clock: Clock, policy: Policy, send: SendReport) -> int:
    """Send every scheduled report due and not yet sent; returns how many went out."""
    now = clock.now()
    with db.session() as session:
        claimed = schedule.claim_due(session, policy=policy, now=now)
    sent = 0
    for due in claimed:
        name, start = due.report.name, due.period.start
        try:
            with db.read_session() as session:
                scope = reports.resolve(policy, due.report.scope)
                report = reports.build_report(session, policy, scope, due.period, now)
            send(due.report.channel, report)
        except Exception:  # noqa: BLE001 - released and retried at the next sweep
            log.exception("scheduled report %s for %s failed; retrying later", name, start)
            with db.session() as session:
                schedule.release(session, name=name, period_start=start)
            continue
        with db.session() as session:
            schedule.mark_sent(session, name=name, period_start=start, now=clock.now())
        log.info("scheduled report %s for %s sent to %s", name, start, due.report.channel)
        sent += 1
    return sent
