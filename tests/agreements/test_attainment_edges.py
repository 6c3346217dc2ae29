"""Agreement attainment at its edges (the month's first instant and `now` both count, holds read
however many incidents there are, a service exactly on its availability target meets it) and
which agreement an incident falls under when two cover its service with equal targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from bot.policy import parse_policy
from models.incident import HoldReason
from services import agreement_attainment, agreements, incidents
from tests.agreements.conftest import AGENT, acknowledge, log, resolve
from tests.conftest import TEST_POLICY


def test_the_period_starts_at_the_first_instant_of_the_month() -> None:
    now = datetime(2026, 11, 27, 13, 47, 31, 123456, tzinfo=UTC)
    assert agreement_attainment.period_start(now) == datetime(2026, 11, 1, tzinfo=UTC)


def _gold(policy):  # type: ignore[no-untyped-def]
    return policy.agreement("Gold")


def test_incidents_logged_at_the_months_first_instant_and_at_now_both_count(
    database, clock, policy
) -> None:
    month = datetime(2026, 12, 1, tzinfo=UTC)
    clock.set(month - timedelta(microseconds=1))
    log(database, clock, policy, service="payments")  # November's last instant: left out
    clock.set(month)
    log(database, clock, policy, service="payments")
    with database.session() as session:
        found = agreement_attainment.attainment(
            session, agreement=_gold(policy), policy=policy, now=month
        )
    assert (found.start, found.end, found.incidents) == (month, month, 1)
    clock.set(month + timedelta(hours=1))
    log(database, clock, policy, service="payments")  # logged at `now` itself
    with database.session() as session:
        found = agreement_attainment.attainment(
            session, agreement=_gold(policy), policy=policy, now=clock.now()
        )
    assert (found.start, found.end, found.incidents) == (month, clock.now(), 2)
    with database.session() as session:  # the month so far: an incident logged later is not in
        earlier = agreement_attainment.attainment(
            session, agreement=_gold(policy), policy=policy, now=month + timedelta(minutes=59)
        )
    assert earlier.incidents == 1


def test_holds_are_read_for_every_incident_whatever_the_chunk(
    database, clock, policy, monkeypatch
) -> None:
    # Three P2 incidents (resolution target 2h), each resolved after 2h30m with 1h on hold:
    # met only when its hold is read. One key per IN list, so every chunk must be read.
    monkeypatch.setattr(agreement_attainment, "_CHUNK", 1)
    keys = [
        log(database, clock, policy, service="payments", impact="medium", urgency="high")
        for _ in range(3)
    ]
    for key in keys:
        acknowledge(database, clock, policy, key)
    clock.advance(minutes=30)
    with database.session() as session:
        for key in keys:
            incidents.hold(
                session,
                key=key,
                reason=HoldReason.CUSTOMER,
                note=None,
                actor=AGENT,
                now=clock.now(),
                policy=policy,
            )
    clock.advance(hours=1)
    with database.session() as session:
        for key in keys:
            incidents.resume(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    clock.advance(hours=1)
    for key in keys:
        resolve(database, clock, policy, key)
    with database.session() as session:
        found = agreement_attainment.attainment(
            session, agreement=_gold(policy), policy=policy, now=clock.now()
        )
    assert found.incidents == 3
    assert (found.resolution.met, found.resolution.settled) == (3, 3)
    assert (found.response.met, found.response.settled) == (3, 3)


def test_a_service_exactly_on_its_availability_target_meets_it(policy) -> None:
    gold = _gold(policy)  # 99.9 %
    start = datetime(2026, 11, 1, tzinfo=UTC)
    result = agreement_attainment.Attainment(
        agreement=gold,
        start=start,
        end=start,
        incidents=0,
        response=agreement_attainment.TargetAttainment(),
        resolution=agreement_attainment.TargetAttainment(),
        services=[],
    )
    assert result.availability_met(SimpleNamespace(availability_percent=99.9)) is True
    assert result.availability_met(SimpleNamespace(availability_percent=99.89)) is False
    untargeted = agreement_attainment.Attainment(
        **{**result.__dict__, "agreement": policy.agreement("Silver")}
    )
    assert untargeted.availability_met(SimpleNamespace(availability_percent=1.0)) is None


def _two_agreements(first_calendar: str, second_calendar: str):  # type: ignore[no-untyped-def]
    def agreement(name: str, calendar: str) -> str:
        return (
            f'\n[[agreements]]\nname = "{name}"\ncustomer = "C{name}"\nservices = ["payments"]\n'
            f'owner = "U0OWNER"\ncalendar = "{calendar}"\nreview_every = "yearly"\n'
            f'\n[agreements.incident_targets.P2]\nresponse = "30m"\nresolution = "2h"\n'
        )

    return parse_policy(
        TEST_POLICY + agreement("First", first_calendar) + agreement("Second", second_calendar)
    )


def test_equal_targets_keep_the_first_agreement_unless_the_other_runs_round_the_clock() -> None:
    for first, second, expected in (
        ("business", "business", "First"),
        ("24x7", "24x7", "First"),
        ("24x7", "business", "First"),
        ("business", "24x7", "Second"),
    ):
        policy = _two_agreements(first, second)
        targets, name = agreements.effective_incident_targets(policy, "payments", 2)
        assert name == expected, (first, second)
        assert targets.resolution.calendar == ("24x7" if "24x7" in (first, second) else "business")
