"""Availability jobs: the test sweep (runs falling due, reminders, chasing) and the URL checks
the bot makes itself. The HTTP request lives here; services only record the results."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from bot.db import Database
from models.policy import Policy
from services import service_tests, url_checks
from services.clock import Clock

log = logging.getLogger(__name__)

USER_AGENT = "servicedesk-availability-check/1"


@dataclass(frozen=True)
class HttpOutcome:
    ok: bool
    status_code: int | None
    error: str | None
    latency_ms: int


def check_url(url: str, *, timeout: float) -> HttpOutcome:
    """GET `url`: ok when it answers 2xx or 3xx within `timeout` seconds."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT}, method="GET")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
            error = None
    except urllib.error.HTTPError as answer:
        status, error = answer.code, f"HTTP {answer.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as failure:
        reason = getattr(failure, "reason", failure)
        status, error = None, f"{type(failure).__name__}: {reason}"[:300]
    latency = int((time.monotonic() - started) * 1000)
    return HttpOutcome(
        ok=status is not None and 200 <= status < 400,
        status_code=status,
        error=error,
        latency_ms=latency,
    )


def sweep_tests(*, db: Database, clock: Clock, policy: Policy) -> int:
    """Create due runs and queue reminders, chases and escalations; returns how many queued."""
    with db.session() as session:
        return len(service_tests.availability_sweep(session, now=clock.now(), policy=policy))


def run_url_checks(
    *,
    db: Database,
    clock: Clock,
    policy: Policy,
    announce: Callable[[str], None] | None = None,
) -> list[url_checks.CheckRecorded]:
    """Check every URL test that is due and record each result in its own transaction. An
    incident a streak of failures opens is handed to `announce` (its channel message)."""
    with db.session() as session:
        targets = url_checks.claim(session, now=clock.now(), policy=policy)
    timeout = policy.availability.check_timeout.total_seconds()
    results = []
    for target in targets:
        # No transaction is open while we wait on the network.
        outcome = check_url(target.url, timeout=timeout)
        with db.session() as session:
            recorded = url_checks.record_check(
                session,
                service=target.service,
                test_name=target.test_name,
                ok=outcome.ok,
                status_code=outcome.status_code,
                error=outcome.error,
                latency_ms=outcome.latency_ms,
                now=clock.now(),
                policy=policy,
            )
        results.append(recorded)
        if recorded.opened and announce is not None:
            try:
                announce(recorded.opened)
            except Exception:  # noqa: BLE001 - the incident is stored; its message can follow
                log.exception("could not announce %s", recorded.opened)
    return results
