"""The periodic jobs: SLA sweep, paging sweep, sending the outbox, auto-closing incidents.

Every job asks services what is due at the injected clock's now and hands messages to the
outbox; the notifier sends them. Each job catches and logs its own errors, so one bad row
or one Slack outage never stops the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk.errors import SlackApiError

from bot.db import Database
from bot.notifier import Notifier, SendReport
from models.policy import Policy
from schedules import availability, relationships, reports
from services import (
    agreement_reviews,
    audits,
    change_reminders,
    changes,
    incidents,
    major_incidents,
    management_reviews,
    paging,
    problems,
    releases,
    sla_timers,
    sms_reviews,
)
from services.clock import Clock
from services.errors import ServiceDeskError
from services.permissions import SYSTEM
from services.records import RecordKind

log = logging.getLogger(__name__)

MIN_INTERVAL_SECONDS = 5
SLA_SWEEP_LIMIT = 500


@dataclass
class RunReport:
    """What one pass of every job did."""

    sla_fired: int = 0
    escalated: int = 0
    closed: list[str] = field(default_factory=list)
    sent: SendReport = field(default_factory=SendReport)


def sweep_sla(*, db: Database, clock: Clock, policy: Policy) -> int:
    """Fire every SLA stage due now; loops while full batches come back (catching up)."""
    total = 0
    while True:
        with db.session() as session:
            fired = sla_timers.sweep(session, now=clock.now(), policy=policy, limit=SLA_SWEEP_LIMIT)
        total += len(fired)
        if len(fired) < SLA_SWEEP_LIMIT:
            return total


def sweep_pages(*, db: Database, clock: Clock, policy: Policy) -> int:
    """Escalate every page not acknowledged in time; returns how many rungs were paged."""
    with db.session() as session:
        return len(paging.sweep(session, now=clock.now(), policy=policy))


def sweep_reminders(*, db: Database, clock: Clock, policy: Policy) -> int:
    """Keep change, release and agreement-review reminders in the outbox in line with their
    records."""
    with db.session() as session:
        added = change_reminders.sweep(session, now=clock.now(), policy=policy)
        return added + agreement_reviews.sweep(session, now=clock.now(), policy=policy)


def sweep_sms_reviews(*, db: Database, clock: Clock, policy: Policy) -> int:
    """Keep the [sms] objectives' and documents' review reminders in the outbox, and plan the
    next internal audit of every [[sms.audits]] plan that has none open."""
    with db.session() as session:
        touched = sms_reviews.sweep(session, now=clock.now(), policy=policy)
        touched += len(management_reviews.sweep(session, now=clock.now(), policy=policy))
        return touched + len(audits.sweep(session, now=clock.now(), policy=policy))


@dataclass(frozen=True)
class IncidentHooks:
    """What jobs that open or close incidents call so the incident's Slack message follows:
    post it (`announce`), or update it in place with a step in its thread (`refresh`)."""

    announce: Callable[[str], object] | None = None
    refresh: Callable[..., object] | None = None
    # Posting the messages of other record kinds ("CHG", "REL", "PRB") that Slack missed.
    announce_other: Mapping[str, Callable[[str], object]] = field(default_factory=dict)
    # Updating the messages of other record kinds in place (no thread step).
    refresh_other: Mapping[str, Callable[[str], object]] = field(default_factory=dict)
    # Posting a scheduled service report (summary and charts) to a channel.
    send_report: reports.SendReport | None = None
    # Every registered kind with a channel message, by key prefix (composition.hooks_for):
    # the sweeps find its unannounced and stale records through it.
    kinds: Mapping[str, RecordKind[Any]] = field(default_factory=dict)
    # Creating a declared major incident's channel (its creator crashed before it was made).
    open_major_channel: Callable[[str], object] | None = None


AUTO_CLOSE_NOTE = "Closed automatically after the resolution was not disputed."


def auto_close(
    *, db: Database, clock: Clock, policy: Policy, hooks: IncidentHooks | None = None
) -> list[str]:
    """Close resolved incidents whose `incidents.auto_close_after` has passed, each in its own
    transaction so one refusal does not hold back the rest; their messages are updated."""
    with db.session() as session:
        keys = incidents.due_for_auto_close(session, now=clock.now(), policy=policy)
    closed = []
    for key in keys:
        try:
            with db.session() as session:
                incidents.close(
                    session,
                    key=key,
                    actor=SYSTEM,
                    now=clock.now(),
                    note=AUTO_CLOSE_NOTE,
                )
            closed.append(key)
        except ServiceDeskError as error:
            log.info("%s not auto-closed: %s", key, error)
            continue
        if hooks is not None and hooks.refresh is not None:
            _guarded("auto_close message", lambda k=key: hooks.refresh(k, step=AUTO_CLOSE_NOTE))()
    return closed


def announce_missed(*, db: Database, clock: Clock, hooks: IncidentHooks | None = None) -> list[str]:
    """Post the channel message of records logged while Slack was unreachable."""
    if hooks is None:
        return []
    finders = {**MESSAGE_KINDS, **hooks.kinds}
    announcers = dict(hooks.announce_other)
    if hooks.announce is not None:
        announcers["INC"] = hooks.announce
    keys: list[str] = []
    with db.session() as session:
        for prefix in announcers:
            keys += finders[prefix].unannounced(session, now=clock.now())
    for key in keys:
        announce = announcers[key.partition("-")[0]]
        _guarded("announce " + key, lambda k=key, a=announce: a(k))()
    if hooks.open_major_channel is not None:
        # A major incident whose channel was never created (the process died creating it).
        with db.session() as session:
            unopened = major_incidents.unopened(session, now=clock.now())
        for key in unopened:
            _guarded("major channel " + key, lambda k=key: hooks.open_major_channel(k))()  # type: ignore[misc]
    return keys


# Slack's answers for a message that can never be updated again: stop trying.
GONE = frozenset(
    {
        "message_not_found",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "cant_update_message",
    }
)

MESSAGE_KINDS = {
    "INC": incidents.KIND,
    "CHG": changes.KIND,
    "REL": releases.KIND,
    "PRB": problems.KIND,
}


def refresh_stale(*, db: Database, hooks: IncidentHooks | None = None) -> list[str]:
    """Update the channel messages that are behind their record: a refresh that could not run
    when the record changed (its ts was not stored yet, Slack failed, the process died). One
    query per record kind finds them; each refresh renders the record's current state."""
    if hooks is None:
        return []
    refreshers = dict(hooks.refresh_other)
    if hooks.refresh is not None:
        refreshers["INC"] = hooks.refresh
    kinds = {**MESSAGE_KINDS, **hooks.kinds}
    keys: list[str] = []
    with db.session() as session:
        for prefix in refreshers:
            keys += kinds[prefix].stale_messages(session)
    for key in keys:
        kind = kinds[key.partition("-")[0]]
        refresh = refreshers[key.partition("-")[0]]
        try:
            refresh(key)
        except SlackApiError as error:
            code = error.response.get("error")
            log.warning("could not refresh %s's message: %s", key, code)
            if code in GONE:
                with db.session() as session:
                    kind.forget_stale(session, key=key)
        except Exception:  # noqa: BLE001 - one record must not stop the others
            log.exception("refreshing %s's message failed; the next sweep tries again", key)
    return keys


def _guarded(name: str, job: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        try:
            return job()
        except Exception:  # noqa: BLE001 - a scheduler job must survive anything one pass hits
            log.exception("scheduled job %s failed; it runs again at the next tick", name)
            return None

    run.__name__ = f"servicedesk_{name}"
    return run


def run_once(
    *,
    db: Database,
    clock: Clock,
    policy: Policy,
    notifier: Notifier,
    hooks: IncidentHooks | None = None,
) -> RunReport:
    """Run every job once, in order: used at start-up so a bot that was down catches up at
    once, and by tests."""
    report = RunReport()
    fired = _guarded("sla", lambda: sweep_sla(db=db, clock=clock, policy=policy))()
    report.sla_fired = fired if isinstance(fired, int) else 0
    escalated = _guarded("paging", lambda: sweep_pages(db=db, clock=clock, policy=policy))()
    report.escalated = escalated if isinstance(escalated, int) else 0
    _guarded("reminders", lambda: sweep_reminders(db=db, clock=clock, policy=policy))()
    _guarded("announce_missed", lambda: announce_missed(db=db, clock=clock, hooks=hooks))()
    _guarded("refresh_stale", lambda: refresh_stale(db=db, hooks=hooks))()
    closed = _guarded(
        "auto_close", lambda: auto_close(db=db, clock=clock, policy=policy, hooks=hooks)
    )()
    report.closed = closed if isinstance(closed, list) else []
    _guarded(
        "availability_tests", lambda: availability.sweep_tests(db=db, clock=clock, policy=policy)
    )()
    _guarded(
        "url_checks",
        lambda: availability.run_url_checks(
            db=db, clock=clock, policy=policy, announce=hooks.announce if hooks else None
        ),
    )()
    if hooks is not None and hooks.send_report is not None:
        send_report = hooks.send_report
        _guarded(
            "scheduled_reports",
            lambda: reports.sweep_reports(db=db, clock=clock, policy=policy, send=send_report),
        )()
    _guarded(
        "relationships",
        lambda: relationships.sweep_relationships(db=db, clock=clock, policy=policy),
    )()
    _guarded("sms_reviews", lambda: sweep_sms_reviews(db=db, clock=clock, policy=policy))()
    sent = _guarded("notify", notifier.send_due)()
    report.sent = sent if isinstance(sent, SendReport) else SendReport()
    return report


def build_scheduler(
    *,
    db: Database,
    clock: Clock,
    policy: Policy,
    notifier: Notifier,
    interval_seconds: float = 30,
    hooks: IncidentHooks | None = None,
) -> BackgroundScheduler:
    """A scheduler (not started) running each job every `interval_seconds` (at least 5)."""
    if interval_seconds < MIN_INTERVAL_SECONDS:
        raise ValueError(f"the scheduler interval must be at least {MIN_INTERVAL_SECONDS} s")
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )
    jobs: dict[str, Callable[[], object]] = {
        "sla_sweep": lambda: sweep_sla(db=db, clock=clock, policy=policy),
        "paging_sweep": lambda: sweep_pages(db=db, clock=clock, policy=policy),
        "change_reminders": lambda: sweep_reminders(db=db, clock=clock, policy=policy),
        "announce_missed": lambda: announce_missed(db=db, clock=clock, hooks=hooks),
        "refresh_stale": lambda: refresh_stale(db=db, hooks=hooks),
        "auto_close": lambda: auto_close(db=db, clock=clock, policy=policy, hooks=hooks),
        "availability_tests": lambda: availability.sweep_tests(db=db, clock=clock, policy=policy),
        "url_checks": lambda: availability.run_url_checks(
            db=db, clock=clock, policy=policy, announce=hooks.announce if hooks else None
        ),
        "send_notifications": notifier.send_due,
        "relationships": lambda: relationships.sweep_relationships(
            db=db, clock=clock, policy=policy
        ),
        "sms_reviews": lambda: sweep_sms_reviews(db=db, clock=clock, policy=policy),
    }
    if hooks is not None and hooks.send_report is not None:
        send_report = hooks.send_report
        jobs["scheduled_reports"] = lambda: reports.sweep_reports(
            db=db, clock=clock, policy=policy, send=send_report
        )
    for job_id, job in jobs.items():
        scheduler.add_job(
            _guarded(job_id, job),
            "interval",
            seconds=interval_seconds,
            id=job_id,
            name=job_id,
            replace_existing=True,
        )
    return scheduler
