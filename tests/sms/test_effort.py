"""Effort logged on records with `/cost effort KEY TIME [note]` through the real App: costed at
the record's team rate (else the default), booked as a cost of category "effort" against the
record's service, counted by the budget's 80 % / 100 % alerts and shown in
`/servicedesk budget`; agents only; bad times and keys answered in plain words; audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.policy import PolicyError, parse_policy
from models.audit import AuditEntry
from models.budget import BudgetAlert, Cost
from models.change import ChangeInput, ChangeType, Risk
from models.incident import IncidentInput, Level
from models.management_review import EffortEntry
from services import changes, effort, incidents, problems
from services.errors import InvalidInput
from services.permissions import Actor, Role
from tests.conftest import TEST_POLICY

EFFORT = """
[sms]
hourly_rate = "60"

[sms.hourly_rates]
Platform = "80.50"

[[sms.budgets]]
service = "payments"
period = "2026"
amount = "200"
"""

AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(TEST_POLICY + EFFORT)


def _incident(database, clock, policy, service: str | None) -> str:  # type: ignore[no-untyped-def]
    with database.session() as session:
        incident, _ = incidents.create(
            session,
            data=IncidentInput(title="Slow", impact=Level.LOW, urgency=Level.LOW, service=service),
            reporter="U0REPORTER",
            now=clock.now(),
            policy=policy,
        )
        return incident.key


def _answer(fake_slack) -> str:  # type: ignore[no-untyped-def]
    return str(fake_slack.calls("response_url")[-1].args["text"])


def test_effort_becomes_cost_counted_by_budgets_and_shown(
    slack, ctx, fake_slack, database, clock, policy
):
    key = _incident(database, clock, policy, "payments")  # the platform team's service
    slack.command("/cost", f"effort {key} 1h30m <!channel> digging", user_id="U0AGENT1")
    answer = _answer(fake_slack)
    assert f"Logged 1h30m on {key}: EUR 120.75 booked against *payments* as effort." == answer
    slack.command("/cost", f"effort {key.lower()} 45", user_id="U0AGENT1")
    assert f"Logged 45m on {key}: EUR 60.38" in _answer(
        fake_slack
    )  # 45 min at 80.50/h, rounded half up
    with database.session() as session:
        costs = session.exec(select(Cost).order_by(Cost.id)).all()
        assert [(c.category, c.amount_cents, c.service) for c in costs] == [
            ("effort", 12075, "payments"),
            ("effort", 6038, "payments"),
        ]
        entries = session.exec(select(EffortEntry).order_by(EffortEntry.id)).all()
        assert [(e.record_key, e.minutes, e.rate_cents, e.team) for e in entries] == [
            (key, 90, 8050, "platform"),
            (key, 45, 8050, "platform"),
        ]
        trail = session.exec(
            select(AuditEntry).where(
                AuditEntry.record_key == key, AuditEntry.action == "effort logged"
            )
        ).all()
        assert [t.to_value for t in trail] == ["90 min", "45 min"]
        alerts = session.exec(select(BudgetAlert)).all()
        assert [(a.threshold, a.actual_cents) for a in alerts] == [(80, 18113)]
    slack.command("/servicedesk", "budget", user_id="U0STRANGER")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "EUR 181.13 of EUR 200.00 (90.5 %) :warning:" in shown
    assert "of which effort EUR 181.13" in shown
    slack.command("/cost", "list payments", user_id="U0STRANGER")
    assert "&lt;!channel&gt; digging" in str(fake_slack.calls("response_url")[-1].args)


def test_without_a_service_or_a_rate_effort_is_logged_without_cost(
    slack, ctx, fake_slack, database, clock, policy
):
    key = _incident(database, clock, policy, None)
    slack.command("/cost", f"effort {key} 30m", user_id="U0AGENT1")
    assert "no cost booked (the record has no service)" in _answer(fake_slack)
    ctx.policy = parse_policy(TEST_POLICY)
    other = _incident(database, clock, ctx.policy, "vpn")
    slack.command("/cost", f"effort {other} 30m", user_id="U0AGENT1")
    assert "no cost booked (no hourly rate applies)" in _answer(fake_slack)
    with database.session() as session:
        assert session.exec(select(Cost)).all() == []
        assert len(session.exec(select(EffortEntry)).all()) == 2


def test_strangers_bad_times_and_bad_keys_are_answered(
    slack, ctx, fake_slack, database, clock, policy
):
    key = _incident(database, clock, policy, "payments")
    slack.command("/cost", f"effort {key} 1h", user_id="U0STRANGER")
    assert "only service desk agents can log effort" in _answer(fake_slack)
    slack.command("/cost", "effort <!here> 1h", user_id="U0AGENT1")
    assert "&lt;!here&gt;" in _answer(fake_slack) and "<!here>" not in _answer(fake_slack)
    slack.command("/cost", "effort INC-99999999999 1h", user_id="U0AGENT1")
    assert "There is no incident" in _answer(fake_slack)
    slack.command("/cost", f"effort {key}", user_id="U0AGENT1")
    assert "Give the record and the time spent" in _answer(fake_slack)
    with database.session() as session:
        assert session.exec(select(EffortEntry)).all() == []


@pytest.mark.parametrize("typed", ["0m", "1e3", "169h", "١٢m", "-5m", "1.5h", "", "h", "12345678m"])
def test_times_that_are_not_plain_are_refused(typed: str):
    with pytest.raises(InvalidInput):
        effort.parse_minutes(typed)


def test_times_are_read_as_minutes():
    assert [effort.parse_minutes(t) for t in ("90m", "1h30m", "2H", "45", "168h")] == [
        90,
        90,
        120,
        45,
        10080,
    ]


def test_effort_on_a_problem_and_a_change_is_costed_at_their_services_team_rate(
    slack, ctx, fake_slack, database, clock, policy
):
    """Problems and changes have no team of their own: the service's team sets the rate, and a
    change's effort is booked against the first (alphabetically) service it targets."""
    with database.session() as session:
        problem = problems.raise_problem(
            session, title="Leaks", actor=AGENT, now=clock.now(), service="payments"
        ).key
        change = changes.create(
            session,
            data=ChangeInput(
                title="Patch",
                type=ChangeType.NORMAL,
                risk=Risk.LOW,
                targets=["vpn", "payments"],
                planned_start=clock.now() + timedelta(days=3),
                planned_end=clock.now() + timedelta(days=3, hours=1),
                backout_plan="Fail back",
            ),
            requester="U0AGENT1",
            now=clock.now(),
            policy=policy,
        ).key
    slack.command("/cost", f"effort {problem} 1h", user_id="U0AGENT1")
    assert f"Logged 1h on {problem}: EUR 80.50 booked against *payments* as effort." == _answer(
        fake_slack
    )
    slack.command("/cost", f"effort {change} 30m", user_id="U0AGENT1")
    assert f"Logged 30m on {change}: EUR 40.25 booked against *payments* as effort." == _answer(
        fake_slack
    )
    with database.session() as session:
        entries = session.exec(select(EffortEntry).order_by(EffortEntry.id)).all()
        assert [(e.record_key, e.team, e.service, e.rate_cents) for e in entries] == [
            (problem, "platform", "payments", 8050),
            (change, "platform", "payments", 8050),
        ]
        assert sum(c.amount_cents for c in session.exec(select(Cost)).all()) == 8050 + 4025


@pytest.mark.parametrize(
    ("rates", "key"),
    [
        ('hourly_rate = "-5"', "sms.hourly_rate"),
        ('hourly_rate = "0"', "sms.hourly_rate"),
        ('hourly_rate = "12.345"', "sms.hourly_rate"),
        ('hourly_rate = "1e9"', "sms.hourly_rate"),
        ('hourly_rate = "NaN"', "sms.hourly_rate"),
        ('hourly_rate = "sixty"', "sms.hourly_rate"),
        ("hourly_rate = [60]", "sms.hourly_rate"),
        ('[sms.hourly_rates]\nplatform = "-1"', "sms.hourly_rates.platform"),
        ('[sms.hourly_rates]\nplatform = "99999999999999999999999"', "sms.hourly_rates.platform"),
        ('[sms.hourly_rates]\nplatfrom = "80"', "sms.hourly_rates.platfrom: 'platfrom' is not one"),
    ],
)
def test_bad_hourly_rates_stop_the_policy_with_their_key_path(rates: str, key: str):
    with pytest.raises(PolicyError, match=re.escape(key)):
        parse_policy(TEST_POLICY + "\n[sms]\n" + rates + "\n")
