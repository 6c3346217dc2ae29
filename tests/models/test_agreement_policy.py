"""`[[agreements]]` in the policy file: validation with key paths, and which targets apply."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.policy import PolicyError, parse_policy
from models.agreement_policy import advance_review
from services import agreements

BASE = """
[[teams]]
name = "platform"

[[services]]
name = "payments"
team = "platform"

[[services]]
name = "vpn"
team = "platform"

[[services]]
name = "wiki"
team = "platform"
"""

GOLD = """
[[agreements]]
name = "Gold"
customer = "Retail"
services = ["payments", "vpn"]
owner = "U0000OWNER"
availability_target = 99.9
calendar = "24x7"
review_every = "quarterly"
request_targets = { fulfilment = "1d" }

[agreements.incident_targets.P1]
response = "10m"
resolution = "2h"

[agreements.incident_targets.P3]
response = "2h"
resolution = "1d"
"""

SILVER = """
[[agreements]]
name = "Silver"
customer = "Finance"
services = ["PAYMENTS"]
owner = "U000SILVER"
next_review = 2026-12-01
request_targets = { response = "1h", fulfilment = "2d" }

[agreements.incident_targets.P1]
response = "5m"
resolution = "6h"
calendar = "24x7"
"""


def _error(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(BASE + text)
    return str(caught.value)


def test_a_good_agreement_is_read():
    policy = parse_policy(BASE + GOLD)
    (gold,) = policy.agreements
    assert gold.services == ["payments", "vpn"]
    assert gold.availability_target == 99.9
    assert gold.incident_targets["P1"].response == timedelta(minutes=10)
    assert gold.request_targets.fulfilment == timedelta(days=1)
    assert gold.remind_before == [timedelta(days=14), timedelta(days=1)]
    assert policy.agreement("gold") is gold


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOLD.replace('["payments", "vpn"]', '["payments", "mail"]'),
            "agreements[0].services[1]: 'mail' is not one of the [[services]]",
        ),
        (GOLD + GOLD.replace('"Retail"', '"Other"'), "agreements[1].name: 'Gold' is defined twice"),
        (
            GOLD.replace('"U0000OWNER"', '"bob"'),
            "agreements[0].owner: 'bob' is not a Slack user id",
        ),
        (GOLD.replace('"U0000OWNER"', '"S0OWNERS"'), "is a user group; an agreement's owner"),
        (
            '[[catalog.items]]\nid = "refund"\nname = "Refund"\nfulfilment_team = "platform"\n'
            'service = "mail"\n',
            "catalog.items[0].service: 'mail' is not one of the [[services]]",
        ),
        (GOLD.replace("99.9", "120"), "agreements[0].availability_target"),
        (GOLD.replace('review_every = "quarterly"', ""), "needs review_every"),
        (GOLD.replace('"quarterly"', '"sometimes"'), "'sometimes' is not a review cadence"),
        (GOLD.replace("P3]", "P9]"), "unknown priority 'P9'"),
        (
            GOLD.replace('resolution = "2h"', 'resolution = "5m"'),
            "agreements[0].incident_targets.P1: the response target",
        ),
        (GOLD.replace('response = "10m"', "response = 10"), "agreements[0].incident_targets.P1"),
        (
            GOLD.replace('customer = "Retail"', 'customer = "Retail"\ncolour = "red"'),
            "agreements[0].colour: is not a setting",
        ),
        (GOLD.replace('calendar = "24x7"', 'calendar = "always"'), "agreements[0].calendar"),
    ],
)
def test_mistakes_name_the_key(text, expected):
    assert expected in _error(text)


def test_no_agreement_leaves_the_global_targets():
    policy = parse_policy(BASE + GOLD)
    targets, name = agreements.effective_incident_targets(policy, "wiki", 1)
    assert name is None
    assert targets.response.counted == timedelta(minutes=15)
    assert targets.resolution.counted == timedelta(hours=4)


def test_the_strictest_target_wins_when_two_agreements_cover_a_service():
    policy = parse_policy(BASE + GOLD + SILVER)
    assert [a.name for a in agreements.agreements_covering(policy, "Payments")] == [
        "Gold",
        "Silver",
    ]
    targets, name = agreements.effective_incident_targets(policy, "payments", 1)
    # Silver's 5m response is stricter; Gold's 2h resolution is stricter and names the record.
    assert targets.response.counted == timedelta(minutes=5)
    assert targets.resolution.counted == timedelta(hours=2)
    assert name == "Gold"
    # Only Gold covers vpn.
    targets, name = agreements.effective_incident_targets(policy, "vpn", 1)
    assert (targets.response.counted, name) == (timedelta(minutes=10), "Gold")
    # Neither sets P2: the global targets, under the first covering agreement.
    targets, name = agreements.effective_incident_targets(policy, "payments", 2)
    assert (targets.resolution.counted, name) == (timedelta(hours=8), "Gold")


def test_an_agreement_target_without_a_calendar_takes_the_agreements_then_the_global_one():
    policy = parse_policy(BASE + GOLD.replace('calendar = "24x7"\n', ""))
    # P3 globally runs on the business clock (09:00-17:00), where "1d" is eight working hours.
    targets, _ = agreements.effective_incident_targets(policy, "payments", 3)
    assert targets.resolution == agreements.ClockTarget(timedelta(hours=8), "business")
    policy = parse_policy(BASE + GOLD)
    targets, _ = agreements.effective_incident_targets(policy, "payments", 3)
    assert targets.resolution == agreements.ClockTarget(timedelta(days=1), "24x7")


def test_request_targets_take_the_strictest_and_keep_the_catalog_where_unset():
    policy = parse_policy(BASE + GOLD + SILVER)
    found = agreements.effective_request_targets(
        policy, "payments", response=timedelta(hours=4), fulfilment=timedelta(days=3)
    )
    assert (found.response, found.fulfilment, found.agreement) == (
        timedelta(hours=1),
        timedelta(days=1),
        "Gold",
    )
    found = agreements.effective_request_targets(
        policy, None, response=timedelta(hours=4), fulfilment=timedelta(days=3)
    )
    assert (found.response, found.fulfilment, found.agreement) == (
        timedelta(hours=4),
        timedelta(days=3),
        None,
    )


@pytest.mark.parametrize(
    ("day", "cadence", "expected"),
    [
        (date(2026, 1, 31), "quarterly", date(2026, 4, 30)),
        (date(2026, 11, 15), "quarterly", date(2027, 2, 15)),
        (date(2026, 1, 31), "monthly", date(2026, 2, 28)),
        (date(2026, 1, 1), "90d", date(2026, 4, 1)),
        (date(2026, 3, 1), "yearly", date(2027, 3, 1)),
    ],
)
def test_review_cadence_moves_the_date(day, cadence, expected):
    assert advance_review(day, cadence) == expected


def test_on_equal_counted_time_the_24x7_clock_is_the_stricter():
    business = SILVER.replace('calendar = "24x7"', 'calendar = "business"').replace(
        'resolution = "6h"', 'resolution = "2h"'
    )
    policy = parse_policy(BASE + business + GOLD)  # Silver (business) first, Gold (24x7) second
    targets, name = agreements.effective_incident_targets(policy, "payments", 1)
    assert targets.resolution == agreements.ClockTarget(timedelta(hours=2), "24x7")
    assert name == "Gold"
