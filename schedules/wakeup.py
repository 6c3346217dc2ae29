"""Waking up on the second a notification falls due, with the database still the truth.

The interval sweeps stay (they are the safety net after a restart, or for what another replica
wrote); on top of them one one-shot APScheduler job waits for the earliest instant anything is
due: the next SLA stage, or the next outbox row to send. It is moved earlier after every write
that sets an earlier deadline (the session notes it, bot/db.py calls `deadline_noted` after the
commit) and set again from the database after every run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler

from bot.db import Database
from services import notifications

log = logging.getLogger(__name__)

JOB_ID = "wakeup"
EXECUTOR = "wakeup"
# Never closer together than this: a row due now that nobody could claim (another sender
# holds it) must not turn the wake-up into a busy loop.
MIN_GAP = timedelta(milliseconds=100)


class Wakeup:
    """Runs `job` (sweep the SLA timers, send the outbox) at the next due instant."""

    def __init__(self, scheduler: BaseScheduler, db: Database, job: Callable[[], object]) -> None:
        self.scheduler = scheduler
        self.db = db
        self.job = job
        self._lock = threading.Lock()
        self._at: datetime | None = None
        self._running = False
        self._again = False
        # Its own thread: the interval jobs, all firing together, can never hold the wake-up
        # in the executor's queue behind them.
        try:
            scheduler.add_executor(ThreadPoolExecutor(max_workers=2), alias=EXECUTOR)
        except ValueError:  # a second Wakeup on the same scheduler shares it
            pass

    @property
    def next_at(self) -> datetime | None:
        """When the one-shot job is set to run, if it is."""
        return self._at

    def at(self, when: datetime) -> None:
        """Make sure the job runs by `when` (moved earlier if it was set later)."""
        now = datetime.now(UTC)
        when = max(when, now + MIN_GAP)
        with self._lock:
            if self._at is not None and now < self._at <= when:
                return
            self._at = when
            self.scheduler.add_job(
                self._run,
                "date",
                run_date=when,
                id=JOB_ID,
                name=JOB_ID,
                replace_existing=True,
                executor=EXECUTOR,
                # However late the scheduler gets to it (a loaded machine), it runs.
                misfire_grace_time=None,
                coalesce=True,
                # APScheduler skips a job whose instances are all busy, and a skipped date job
                # is gone until the next interval sweep. A run that finds another one going
                # only asks it to go round again (`_run`) and returns at once, so two are
                # never both busy for long; the headroom is for that moment.
                max_instances=4,
            )

    def deadline_noted(self, info: Mapping[str, Any]) -> None:
        """bot/db.py's after-commit hook: a committed session that set a deadline wakes us."""
        when = info.get(notifications.WAKE_AT_INFO)
        if when is not None:
            self.at(when)

    def _run(self) -> None:
        """Run the job; when a run is already going, have it run once more as soon as it
        ends instead (what fell due meanwhile is then swept at once, never dropped)."""
        with self._lock:
            self._at = None
            if self._running:
                self._again = True
                return
            self._running = True
        try:
            while True:
                try:
                    self.job()
                except Exception:  # noqa: BLE001 - the interval sweeps are the safety net
                    log.exception("wake-up run failed; the interval sweeps carry on")
                with self._lock:
                    if not self._again:
                        break
                    self._again = False
        finally:
            with self._lock:
                self._running = False
        self.schedule_next()

    def schedule_next(self) -> datetime | None:
        """Set the job at the earliest instant the database says something is due."""
        with self.db.session() as session:
            when = notifications.next_wake_at(session)
        if when is not None:
            self.at(when)
        return when
