"""`[sms]` in the policy file: what it accepts and what stops start-up, with the key at fault."""

from __future__ import annotations

import pytest

from bot.policy import PolicyError, parse_policy
from tests.conftest import TEST_POLICY
from tests.sms.conftest import SMS_POLICY


def test_the_example_parses_and_measures_are_normalised():
    policy = parse_policy(SMS_POLICY)
    assert [o.measure for o in policy.sms.objectives] == ["resolution.P1", None]
    assert policy.sms.objectives[1].review_every == "yearly"
    assert policy.sms.documents[1].review_every == "yearly"  # the default cadence
    assert policy.sms.process_owners.change == "S0CAB"
    assert policy.sms.item("document", "incident PROCEDURE").name == "Incident procedure"


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ('[[sms.objectives]]\nname = "x"\nowner = "U0A"\nmeasure = "happiness"', "not a measure"),
        ('[[sms.objectives]]\nname = "x"\nowner = "U0A"\ntarget = 1e308', "less than or equal"),
        ('[[sms.documents]]\nname = "x"\nowner = "S0GROUP"', "is a user group"),
        ('[[sms.documents]]\nname = "x"\nowner = "U0A"\nreview_every = "1h"', "shorter than a day"),
        ('[[sms.documents]]\nname = "x"\nowner = "U0A"\nreview_evry = "yearly"', "review_evry"),
        ('[sms.process_owners]\nincidnt = "U0A"', "incidnt"),
        ('[sms.process_owners]\nincident = "bob"', "not a Slack user id"),
        (
            '[[sms.documents]]\nname = "x"\nowner = "U0A"\n[[sms.documents]]\nname = "X"\n'
            'owner = "U0A"',
            "defined twice",
        ),
    ],
)
def test_mistakes_stop_start_up_naming_the_key(section: str, problem: str):
    with pytest.raises(PolicyError) as raised:
        parse_policy(TEST_POLICY + "\n" + section + "\n")
    assert problem in str(raised.value)
    assert "sms" in str(raised.value)
