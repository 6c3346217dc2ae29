"""Which agreement a service request falls under, and the hours its targets count on, when
several agreements cover its service."""

from __future__ import annotations

from datetime import timedelta

from bot.policy import parse_policy
from models.sla_policy import WrittenDuration
from services import agreements
from tests.models.test_agreement_policy import BASE


def _agreement(name: str, extra: str = "") -> str:
    return (
        f'\n[[agreements]]\nname = "{name}"\ncustomer = "C{name}"\nservices = ["payments"]\n'
        f'owner = "U0OWNER"\nreview_every = "yearly"\n{extra}\n'
    )


def _targets(policy, response: str = "4h", fulfilment: str = "3d"):  # type: ignore[no-untyped-def]
    return agreements.effective_request_targets(
        policy,
        "payments",
        response=WrittenDuration(response),
        fulfilment=WrittenDuration(fulfilment),
    )


def test_equal_fulfilment_keeps_the_first_and_names_it():
    policy = parse_policy(
        BASE
        + _agreement("First", 'request_targets = { fulfilment = "2d" }')
        + _agreement("Second", 'request_targets = { response = "1h", fulfilment = "2d" }')
    )
    found = _targets(policy)
    assert (found.response, found.fulfilment, found.agreement) == (
        timedelta(hours=1),
        timedelta(hours=16),
        "First",
    )


def test_a_response_target_alone_names_its_agreement():
    policy = parse_policy(
        BASE + _agreement("First") + _agreement("Second", 'request_targets = { response = "1h" }')
    )
    found = _targets(policy)
    assert (found.response, found.fulfilment, found.agreement) == (
        timedelta(hours=1),
        timedelta(hours=24),  # the catalog's three days, as working days of 8 hours
        "Second",
    )


def test_without_request_targets_the_first_covering_agreement_and_its_hours():
    hours = (
        '[agreements.service_hours]\ntimezone = "UTC"\n'
        'working_days = ["mon", "tue", "wed", "thu", "fri"]\nstart = "08:00"\nend = "12:00"\n'
    )
    policy = parse_policy(BASE + _agreement("First", hours) + _agreement("Second"))
    found = _targets(policy, fulfilment="1d")
    # The first covering agreement's own hours: a working day is four hours there.
    assert (found.response, found.fulfilment, found.agreement) == (
        timedelta(hours=4),
        timedelta(hours=4),
        "First",
    )
    assert agreements.request_clock(policy, "First") == "business:First"
    assert agreements.request_clock(policy, "Second") == "business"
    assert agreements.request_clock(policy, None) == "business"
    plain = parse_policy(BASE + _agreement("Second") + _agreement("First", hours))
    found = _targets(plain, fulfilment="1d")
    assert (found.fulfilment, found.agreement) == (timedelta(hours=8), "Second")
