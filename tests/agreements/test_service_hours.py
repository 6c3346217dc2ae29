"""An agreement's own service hours (`[agreements.service_hours]`) run the SLA clocks of its
incidents and requests; deadlines here are worked out by hand across a weekend and a closed
Monday."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.policy import PolicyError, parse_policy
from models.incident import Incident, IncidentInput, Level
from models.sla_timer import SlaTimer
from services import incident_sla, incidents, requests, sla_timers
from tests.conftest import TEST_POLICY

# The install's business hours (TEST_POLICY): Mon–Fri 09:00–17:00 UTC.
HOURS = """
[[services]]
name = "wiki"
team = "platform"

[[catalog.items]]
id = "wiki-space"
name = "A wiki space"
fulfilment_team = "platform"
service = "wiki"
response_target = "4h"
fulfilment_target = "3d"

[[agreements]]
name = "Long hours"
customer = "Docs team"
services = ["wiki"]
owner = "U0SLAOWNER"
review_every = "yearly"
calendar = "business"
request_targets = { fulfilment = "1d" }

[agreements.service_hours]
timezone = "UTC"
working_days = ["mon", "tue", "wed", "thu", "fri"]
start = "08:00"
end = "18:00"
closed_dates = [2026-10-19]

[agreements.incident_targets.P3]
response = "4h"
resolution = "2d"
"""

FRIDAY_4PM = datetime(2026, 10, 16, 16, 0, tzinfo=UTC)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 10, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(TEST_POLICY + HOURS)


def _timers(session, key: str) -> dict[str, tuple[str, int, datetime | None]]:  # type: ignore[no-untyped-def]
    rows = session.exec(select(SlaTimer).where(SlaTimer.record_key == key)).all()
    return {row.target: (row.calendar, row.target_seconds, row.due_at) for row in rows}


def _log(session, policy, service: str) -> Incident:  # type: ignore[no-untyped-def]
    incident, _ = incidents.create(
        session,
        # high impact × low urgency: P3, a business-hours target.
        data=IncidentInput(title="Slow", impact=Level.HIGH, urgency=Level.LOW, service=service),
        reporter="U0REPORTER",
        now=FRIDAY_4PM,
        policy=policy,
    )
    session.flush()
    return incident


def test_an_incident_counts_its_agreements_hours_across_a_weekend(database, policy):  # type: ignore[no-untyped-def]
    with database.session() as session:
        incident = _log(session, policy, "wiki")
        key = incident.key
        # Response 4h: Fri 16–18 (2h); Sat, Sun, and Mon 19 Oct (closed) do not count; Tue
        # 08–10 (2h) → Tue 20 Oct 10:00. Resolution 2d of its 10-hour days = 20h: Fri 2h,
        # Tue 10h, Wed 08–16 (8h) → Wed 21 Oct 16:00.
        assert _timers(session, key) == {
            "response": ("business:Long hours", 4 * 3600, at(20, 10)),
            "resolution": ("business:Long hours", 20 * 3600, at(21, 16)),
        }
        sla = incident_sla.evaluate(session, incident=incident, policy=policy, now=FRIDAY_4PM)
        assert (sla.response.due_at, sla.resolution.due_at) == (at(20, 10), at(21, 16))
        # The same P3 on a service without the agreement runs the install's 09–17 hours:
        # 4h = Fri 16–17 (1h) + Mon 09–12 → Mon 19 Oct 12:00; 3d = 24h: Fri 1h, Mon 8h,
        # Tue 8h, Wed 09–16 (7h) → Wed 21 Oct 16:00.
        other = _log(session, policy, "payments")
        assert _timers(session, other.key) == {
            "response": ("business", 4 * 3600, at(19, 12)),
            "resolution": ("business", 24 * 3600, at(21, 16)),
        }


def test_the_sweep_warns_on_the_agreements_hours(database, policy):  # type: ignore[no-untyped-def]
    with database.session() as session:
        key = _log(session, policy, "wiki").key
    # 50 % of the 4h response is 2h of its hours: reached at Fri 18:00, not before.
    with database.session() as session:
        assert sla_timers.sweep(session, now=at(16, 17), policy=policy) == []
    with database.session() as session:
        fired = sla_timers.sweep(session, now=at(16, 18), policy=policy)
    assert [(f.record_key, f.target, f.stage) for f in fired] == [(key, "response", "response:50")]


def test_a_request_counts_its_agreements_hours(database, policy):  # type: ignore[no-untyped-def]
    with database.session() as session:
        notify, _ = requests.submit(
            session,
            item_id="wiki-space",
            answers={},
            requester="U0REQ",
            now=at(16, 17),
            policy=policy,
        )
        key = notify.request.key
    with database.session() as session:
        # Response (the item's 4h): Fri 17–18 (1h) + Tue 08–11 → Tue 20 Oct 11:00.
        # Fulfilment "1d" is stored as 24 hours of counted time (as for every request): Fri
        # 1h, Tue 10h, Wed 10h, Thu 08–11 (3h) → Thu 22 Oct 11:00.
        assert _timers(session, key) == {
            "response": ("business:Long hours", 4 * 3600, at(20, 11)),
            "resolution": ("business:Long hours", 24 * 3600, at(22, 11)),
        }


def test_bad_service_hours_stop_start_up_with_the_key(policy):  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError, match="service_hours"):
        parse_policy(TEST_POLICY + HOURS.replace('"fri"]', '"fri", "someday"]'))


def test_the_example_policy_has_two_agreements_and_a_monthly_report():  # type: ignore[no-untyped-def]
    from pathlib import Path

    example = parse_policy((Path(__file__).parents[2] / "servicedesk.example.toml").read_text())
    assert [a.name for a in example.agreements] == ["Payments for Retail", "VPN for staff"]
    hours = example.agreements[1].service_hours
    assert hours is not None and (hours.start.hour, hours.end.hour, hours.country) == (8, 18, "GB")
    assert [(r.name, r.schedule, r.period) for r in example.reports] == [
        ("monthly", "0 8 1 * *", "last month")
    ]
