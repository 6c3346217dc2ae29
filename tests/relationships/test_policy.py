"""The [[customers]], [surveys], [complaints] and [[suppliers]] sections: defaults, and
mistakes refused with the key and the problem."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.policy import PolicyError, parse_policy
from tests.conftest import TEST_POLICY
from tests.relationships.conftest import RELATIONSHIP_POLICY


def test_defaults_and_the_example():
    plain = parse_policy(TEST_POLICY)
    assert plain.surveys.min_interval == timedelta(days=1) and plain.surveys.low_score == 2
    assert plain.complaints.response_target == timedelta(days=2)
    assert plain.customers == [] and plain.suppliers == []
    policy = parse_policy(RELATIONSHIP_POLICY)
    acme = policy.suppliers[0]
    assert acme.contract_end == date(2027, 3, 31) and acme.contract_reminders == [90, 30]
    assert acme.resolution_target == timedelta(hours=8)
    assert policy.customers[0].owner == "U0RELOWNER"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[[customers]]\nname = "X"\nservices = ["nope"]', "customers[0].services[0]: 'nope'"),
        ('[[customers]]\nname = "X"\nagreements = ["Gold"]', "customers[0].agreements[0]"),
        (
            '[[suppliers]]\nname = "A"\n[[suppliers]]\nname = "a"',
            "suppliers[1].name: 'a' is defined twice",
        ),
        ('[[suppliers]]\nname = "A"\nowner = "bob"', "not a Slack user id"),
        ('[surveys]\noff_for = ["nope"]', "surveys.off_for[0]"),
        ("[surveys]\nlow_score = 9", "low_score"),
        ('[surveys]\nmin_intervall = "1d"', "min_intervall"),
        ('[[suppliers]]\nname = "A"\ncontract_end = "soon"', "contract_end"),
    ],
)
def test_mistakes_are_refused_with_the_key(extra: str, message: str):
    with pytest.raises(PolicyError) as raised:
        parse_policy(TEST_POLICY + "\n" + extra + "\n")
    assert message in str(raised.value)
