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

from apscheduler.schedulers.base import BaseScheduler

from bot.db import Database
from services import notifications

log = logging.getLogger(__name__)

JOB_ID = "wakeup"
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
                misfire_grace_time=None,
                # The next run is often set while this one is finishing (schedule_next);
                # with one instance allowed it would be skipped, and a skipped date job is
                # gone. Two sweeps at once are safe (they claim disjoint rows).
                max_instances=2,
            )

    def deadline_noted(self, info: Mapping[str, Any]) -> None:
        """bot/db.py's after-commit hook: a committed session that set a deadline wakes us."""
        when = info.get(notifications.WAKE_AT_INFO)
        if when is not None:
            self.at(when)

    def _run(self) -> None:
        with self._lock:
            self._at = None
        try:
            self.job()
        except Exception:  # noqa: BLE001 - the interval sweeps are the safety net
            log.exception("wake-up run failed; the interval sweeps carry on")
        self.schedule_next()

    def schedule_next(self) -> datetime | None:
        """Set the job at the earliest instant the database says something is due."""
        with self.db.session() as session:
            when = notifications.next_wake_at(session)
        if when is not None:
            self.at(when)
        return when
