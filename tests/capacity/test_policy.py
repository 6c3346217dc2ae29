"""`[[capacity]]` and `[[sms.capacity_plans]]` in the policy file: what is accepted and what
stops start-up, with the key named."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.policy import PolicyError, parse_policy
from tests.capacity.conftest import CAPACITY_POLICY
from tests.conftest import TEST_POLICY


def test_requirements_are_read_with_their_defaults(policy):
    cpu, disk, tunnels = policy.capacity
    assert (cpu.item, cpu.metric, cpu.direction, cpu.window) == ("Payments", "cpu", "up", 10)
    assert cpu.horizon == timedelta(days=30)
    assert (disk.window, disk.unit) == (5, "GB")
    assert tunnels.direction == "down" and tunnels.owner == "U0VPNOWNER"
    assert policy.capacity_requirement("PAYMENTS", " cpu ") is cpu
    assert policy.capacity_requirement("payments", "memory") is None
    assert policy.sms.capacity_plans[0].review_every == "quarterly"


def entry(**changes: object) -> str:
    values: dict[str, object] = {"item": '"vpn"', "metric": '"load"', "warning": 1, "critical": 2}
    values.update(changes)
    return "\n[[capacity]]\n" + "\n".join(f"{k} = {v}" for k, v in values.items()) + "\n"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"warning": 3}, "warning (3) must be below critical (2)"),
        ({"direction": '"down"'}, "must be above critical"),
        ({"direction": '"sideways"'}, "direction"),
        ({"metric": '"Disk Used!"'}, "is not a metric name"),
        ({"critical": "nan"}, "critical"),
        ({"critical": "inf"}, "critical"),
        ({"critical": "1e300"}, "between -1e+12 and 1e+12"),
        ({"warning": '"high"'}, "warning"),
        ({"window": 2}, "window"),
        ({"horizon": '"10m"'}, "between 1h and 3660d"),
        ({"owner": '"S0GROUP>"'}, "owner"),
        ({"item": '"   "'}, "item"),
        ({"treshold": 3}, "treshold"),
    ],
)
def test_bad_requirements_stop_start_up(changes: dict[str, object], problem: str):
    with pytest.raises(PolicyError) as raised:
        parse_policy(TEST_POLICY + entry(**changes))
    assert problem in str(raised.value)


def test_a_metric_required_twice_is_refused():
    with pytest.raises(PolicyError, match=r"capacity\[1\]: VPN load is defined twice"):
        parse_policy(TEST_POLICY + entry() + entry(item='"VPN"'))


def test_two_capacity_plans_with_one_name_are_refused():
    plan = '\n[[sms.capacity_plans]]\nname = "Plan"\nowner = "U0X1"\n'
    with pytest.raises(PolicyError, match="capacity_plans"):
        parse_policy(CAPACITY_POLICY + plan + plan)
