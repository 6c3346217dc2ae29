"""Which working calendar a timer's clock name stands for (services.sla_calendars): the
install's business hours, an agreement's own service hours, or round the clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.policy import parse_policy
from services import sla_calendars
from services.sla_clock import TwentyFourSeven
from tests.agreements.test_service_hours import HOURS
from tests.conftest import TEST_POLICY

PLAIN = """
[[agreements]]
name = "Plain"
customer = "Ops"
services = ["wiki"]
owner = "U0SLAOWNER"
review_every = "yearly"
calendar = "business"
"""

MONDAY_8_30 = datetime(2026, 10, 12, 8, 30, tzinfo=UTC)  # the agreement's hours, not the install's


def _policy():  # type: ignore[no-untyped-def]
    return parse_policy(TEST_POLICY + HOURS + PLAIN)


def test_a_business_target_runs_on_the_agreements_own_hours_when_it_has_them() -> None:
    policy = _policy()
    long_hours, plain = (
        next(a for a in policy.agreements if a.name == name) for name in ("Long hours", "Plain")
    )
    assert sla_calendars.clock_name(long_hours, "business") == "business:Long hours"
    assert sla_calendars.clock_name(long_hours, "24x7") == "24x7"
    assert sla_calendars.clock_name(plain, "business") == "business"
    assert sla_calendars.clock_name(None, "business") == "business"
    assert sla_calendars.clock_name(None, "24x7") == "24x7"


def test_clock_names_give_their_hours_and_a_vanished_agreement_the_installs(caplog) -> None:  # type: ignore[no-untyped-def]
    policy = _policy()
    long_hours = next(a for a in policy.agreements if a.name == "Long hours")
    assert sla_calendars.hours_of(policy, "business:Long hours") is long_hours.service_hours
    assert sla_calendars.hours_of(policy, "business") is policy.sla.calendar
    assert sla_calendars.hours_of(policy, "24x7") is policy.sla.calendar
    assert caplog.records == []
    with caplog.at_level(logging.WARNING, logger="services.sla_calendars"):
        assert sla_calendars.hours_of(policy, "business:Plain") is policy.sla.calendar
        assert sla_calendars.hours_of(policy, "business:Gone") is policy.sla.calendar
    assert [r.getMessage() for r in caplog.records] == [
        "agreement 'Plain' has no service hours any more; using [sla.calendar]",
        "agreement 'Gone' has no service hours any more; using [sla.calendar]",
    ]


def test_each_clock_name_counts_on_its_own_calendar() -> None:
    policy = _policy()
    assert isinstance(sla_calendars.calendar_of(policy, "24x7"), TwentyFourSeven)
    business = sla_calendars.calendar_of(policy, "business")
    assert business is sla_calendars.business_calendar(policy)
    own = sla_calendars.calendar_of(policy, "business:Long hours")
    # Built once per policy: the same calendar object each time.
    assert sla_calendars.calendar_of(policy, "business:Long hours") is own
    assert sla_calendars.calendar_of(policy, "business:Gone") is business
    # The agreement opens at 08:00, the install at 09:00.
    assert own.is_working_time(MONDAY_8_30)
    assert not business.is_working_time(MONDAY_8_30)


def test_which_clock_names_count_business_time() -> None:
    assert sla_calendars.is_business("business")
    assert sla_calendars.is_business("business:Long hours")
    assert not sla_calendars.is_business("24x7")
    assert not sla_calendars.is_business("Business")
