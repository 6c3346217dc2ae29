"""Starting the scheduler with the app: catch up once, then sweep on an interval."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from bot.context import AppContext
from schedules.scheduler import IncidentHooks, build_scheduler, run_once, sweep_pages, sweep_sla
from schedules.wakeup import Wakeup

log = logging.getLogger(__name__)


def start(ctx: AppContext, hooks: IncidentHooks) -> BackgroundScheduler:
    """Run every sweep once (a bot that was down sends what fell due, once), then start the
    periodic jobs. `hooks` (composition.hooks_for) reach Slack through the handlers:
    incidents opened by failing URL checks get their channel message like any other, and
    auto-closed ones have theirs updated."""
    catch_up = ctx.metrics.timed_job(
        "catch_up",
        lambda: run_once(
            db=ctx.db, clock=ctx.clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks
        ),
        ctx.clock,
    )
    report = catch_up()
    log.info("start-up catch-up: %s", report)
    scheduler = build_scheduler(
        db=ctx.db,
        clock=ctx.clock,
        policy=ctx.policy,
        notifier=ctx.notifier,
        interval_seconds=ctx.settings.scheduler_interval_seconds,
        hooks=hooks,
    )
    # Every job's run is timed and its last run noted (GET /metrics).
    for job in scheduler.get_jobs():
        job.modify(func=ctx.metrics.timed_job(job.id, job.func, ctx.clock))
    # On top of the interval: wake up when the next SLA stage or outbox row falls due.
    wakeup = Wakeup(
        scheduler,
        ctx.db,
        ctx.metrics.timed_job(
            "wakeup",
            lambda: (
                sweep_sla(db=ctx.db, clock=ctx.clock, policy=ctx.policy),
                sweep_pages(db=ctx.db, clock=ctx.clock, policy=ctx.policy),
                ctx.notifier.send_due(),
            ),
            ctx.clock,
        ),
    )
    ctx.db.after_commit.append(wakeup.deadline_noted)
    scheduler.start()
    wakeup.schedule_next()
    return scheduler
