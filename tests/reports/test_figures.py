"""Report figures against values computed by hand from the data set in conftest.py."""

from __future__ import annotations

import pytest

from models.service_request import ServiceRequest
from services.reports import build_report, parse_period, resolve
from tests.reports.conftest import at

NOW = at(11, 27, 10)
OCTOBER_S = 31 * 86400


def report(database, policy, scope="all", period="2026-10"):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return build_report(
            session, policy, resolve(policy, scope), parse_period(period, now=NOW), NOW
        )


def test_incident_volumes_and_response_times(database, policy, october):  # type: ignore[no-untyped-def]
    figures = report(database, policy).current
    # INC-1,2,3,4,5,8,9 (INC-6 cancelled, INC-7 in September).
    assert figures.incidents == 7
    assert figures.by_priority == {1: 2, 2: 2, 3: 1, 4: 1, 5: 1}
    assert figures.by_service == {"payments": 4, "vpn": 2, "(no service)": 1}
    # Acknowledged after 300, 600, 1200, 1800, 1800 and 237600 s (INC-3 over a weekend).
    # Median: between ranks 2 and 3 → 1500. p90: rank 4.5 → 1800 + 0.5 × 235800 = 119700.
    assert figures.mtta.count == 6
    assert figures.mtta.median == pytest.approx(1500, abs=0.5)
    assert figures.mtta.p90 == pytest.approx(119700, abs=0.5)
    # Resolved in October after 7200, 10800, 21600, 39600 (INC-4: created to final
    # resolution after its reopening) and 244800 s; INC-9 was resolved in November.
    # Median 21600; p90: rank 3.6 → 39600 + 0.6 × 205200 = 162720.
    assert figures.mttr.count == 5
    assert figures.mttr.median == pytest.approx(21600, abs=0.5)
    assert figures.mttr.p90 == pytest.approx(162720, abs=0.5)
    # Weekly volume by priority, in 7-day buckets from the period's start (1, 8, 15, 22, 29
    # Oct): INC-9, INC-1, INC-2, INC-8 | INC-3 | INC-4 | INC-5 | none.
    weeks = {start.day: counts for start, counts in figures.weekly}
    assert weeks == {1: {5: 1, 1: 2, 2: 1}, 8: {3: 1}, 15: {2: 1}, 22: {4: 1}, 29: {}}


def test_sla_attainment_counts_pauses_business_hours_and_reopenings(database, policy, october):  # type: ignore[no-untyped-def]
    figures = report(database, policy).current
    # Response: met by INC-1, INC-3 (2 business hours), INC-4, INC-8, INC-9; breached by INC-2
    # (30 of 15 min) and INC-5 (never acknowledged, overdue now).
    assert (figures.response.met, figures.response.breached) == (5, 2)
    assert figures.response.percent == pytest.approx(500 / 7)
    assert figures.response.by_priority == {1: (1, 1), 2: (2, 0), 3: (1, 0), 4: (0, 1), 5: (1, 0)}
    # Resolution: met by INC-1, INC-2 (4 h on hold not counted), INC-3, INC-8; breached by
    # INC-4 (reopened, 11 h of 8), INC-5 (overdue) and INC-9 (resolved after 10 business days).
    assert (figures.resolution.met, figures.resolution.breached) == (4, 3)
    assert figures.resolution.running == 0
    # In the order the incidents were logged.
    assert [(b.key, b.target) for b in figures.breaches] == [
        ("INC-9", "resolution"),
        ("INC-2", "response"),
        ("INC-4", "resolution"),
        ("INC-5", "resolution"),
        ("INC-5", "response"),
    ]
    inc4 = figures.breaches[2]
    assert inc4.due_at == at(10, 20, 17) and inc4.stopped_at == at(10, 20, 20)


def test_availability_mtbf_mtrs_and_a_service_with_no_incidents(database, policy, october):  # type: ignore[no-untyped-def]
    figures = report(database, policy).current
    uptime = {u.service: u for u in figures.availability}
    assert list(uptime) == ["payments", "vpn", "email"]
    # payments: 10–14 on 5 Oct (INC-1 and INC-8 merged) and 10–16 on 6 Oct: 10 h, 2 outages.
    payments = uptime["payments"]
    assert (payments.downtime_s, payments.outages) == (36000, 2)
    assert payments.percent == pytest.approx(100 * (OCTOBER_S - 36000) / OCTOBER_S)
    assert payments.mtbf_s == pytest.approx((OCTOBER_S - 36000) / 2)
    assert payments.mtrs_s == pytest.approx(18000)
    # vpn: 68 h (INC-3) and 11 h (INC-4, up to its final resolution).
    assert (uptime["vpn"].downtime_s, uptime["vpn"].outages) == (284400, 2)
    email = uptime["email"]
    assert (email.percent, email.outages, email.mtbf_s, email.mtrs_s) == (100.0, 0, None, None)


def test_requests_changes_problems_backlog_and_tests(database, policy, october):  # type: ignore[no-untyped-def]
    figures = report(database, policy).current
    assert (figures.requests.fulfilled, figures.requests.on_time) == (2, 1)
    changes = figures.changes
    assert changes.implemented == 4
    assert changes.by_type == {"normal": 2, "emergency": 1, "standard": 1}
    assert changes.by_outcome == {
        "failed": 1,
        "not reviewed": 1,
        "successful": 1,
        "successful_with_issues": 1,
    }
    assert (changes.reviewed, changes.successful, changes.emergency) == (3, 2, 1)
    assert changes.success_percent == pytest.approx(200 / 3)
    assert changes.caused_incidents == 1
    problems = figures.problems
    assert (problems.opened, problems.resolved, problems.known_errors) == (1, 2, 1)
    # Open at 1 Nov 00:00: INC-5 (3 d 14 h old) and INC-9 (resolved only on 2 Nov; 30 d 15 h).
    backlog = figures.backlog
    assert backlog.open == 2
    assert backlog.by_age == {"< 1 day": 0, "1–7 days": 1, "7–30 days": 0, "> 30 days": 1}
    assert backlog.oldest_s == pytest.approx(30 * 86400 + 15 * 3600, abs=0.5)
    assert (figures.tests.due, figures.tests.done, figures.tests.failed) == (3, 2, 1)


def test_previous_period_is_september(database, policy, october):  # type: ignore[no-untyped-def]
    found = report(database, policy)
    previous = found.previous
    assert previous.period.label == "September 2026"
    assert previous.incidents == 1 and previous.by_priority == {2: 1}
    assert previous.mtta.median == pytest.approx(300, abs=0.5)
    assert previous.mttr.median == pytest.approx(3600, abs=0.5)
    assert (previous.response.met, previous.resolution.met) == (1, 1)
    assert previous.changes.implemented == 1
    assert previous.breaches == [] and previous.weekly == []


def test_service_scope_counts_only_that_service(database, policy, october):  # type: ignore[no-untyped-def]
    figures = report(database, policy, scope="payments").current
    assert figures.incidents == 4 and figures.by_service == {"payments": 4}
    assert [u.service for u in figures.availability] == ["payments"]
    if hasattr(ServiceRequest, "service"):
        assert (figures.requests.fulfilled, figures.requests.on_time) == (2, 1)
    else:
        # Requests without a service cannot be scoped to one.
        assert figures.requests.applicable is False
    assert figures.changes.implemented == 1 and figures.changes.caused_incidents == 1
    assert figures.problems.opened == 1 and figures.problems.resolved == 1
    assert figures.backlog.open == 1


def test_a_service_with_no_incidents_has_empty_figures(database, policy, october):  # type: ignore[no-untyped-def]
    figures = report(database, policy, scope="service:email").current
    assert figures.incidents == 0 and figures.by_priority == {}
    assert figures.mtta.median is None and figures.mttr.p90 is None
    assert figures.response.percent is None
    assert figures.availability[0].percent == 100.0
    assert figures.backlog.open == 0 and figures.backlog.oldest_s is None
