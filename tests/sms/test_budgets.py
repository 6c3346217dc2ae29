"""Budgets and costs: `[[sms.budgets]]` validated; `/cost` through the real App (agents only,
amounts read as decimals, hostile text escaped); 80 % and 100 % told to the owner once per
period; `/servicedesk budget`; `servicedesk cost import` with good and hostile files."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from bot.admin_commands import cost_command
from bot.policy import PolicyError, parse_policy
from models.budget import BudgetAlert, Cost
from services import budgets
from services.audit import trail
from services.errors import InvalidInput
from services.permissions import Actor, Role
from tests.conftest import TEST_POLICY

BUDGETS = """
[sms]
currency = "EUR"

[[sms.budgets]]
service = "Payments"
period = "2026-q4"
amount = "10000"

[[sms.budgets]]
service = "vpn"
period = "2026"
amount = 5000.50
owner = "U0VPNOWNER"
"""
BUDGET_POLICY = TEST_POLICY + BUDGETS
AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(BUDGET_POLICY)


@pytest.mark.parametrize(
    ("budget", "problem"),
    [
        ('service = "mail"\nperiod = "2026"\namount = 1', "'mail' is not one of the [[services]]"),
        ('service = "vpn"\nperiod = "2026-13"\namount = 1', "has no month 13"),
        ('service = "vpn"\nperiod = "2026-Q5"\namount = 1', "not a budget period"),
        ('service = "vpn"\nperiod = "2026"\namount = 1e999', "amount"),
        ('service = "vpn"\nperiod = "2026"\namount = -5', "greater than 0"),
        ('service = "vpn"\nperiod = "2026"\namount = "1.234"', "decimal places"),
        ('service = "vpn"\nperiod = "2026"\namount = "1' + "0" * 40 + '"', "amount"),
    ],
)
def test_bad_budgets_stop_start_up(budget: str, problem: str):
    with pytest.raises(PolicyError) as raised:
        parse_policy(TEST_POLICY + "\n[[sms.budgets]]\n" + budget + "\n")
    assert problem in str(raised.value)


def test_two_budgets_for_one_period_are_refused():
    twice = '[[sms.budgets]]\nservice = "vpn"\nperiod = "2026"\namount = 1\n'
    with pytest.raises(PolicyError, match="two budgets for 2026"):
        parse_policy(TEST_POLICY + "\n" + twice + twice)


@pytest.mark.parametrize(
    "typed", ["1e3", "nan", "inf", "1,000", "9" * 5000, "12.345", "１２", "", "12."]
)
def test_amounts_that_are_not_plain_decimals_are_refused(typed: str):
    shown = typed[:30].replace(".", r"\.")
    with pytest.raises(InvalidInput, match=rf"^'{shown}' is not an amount\. Write amounts like"):
        budgets.parse_amount(typed)


@pytest.mark.parametrize("typed", ["0", "-0.00", "0.00", "000000000000.00"])
def test_an_amount_of_zero_is_refused(typed: str):
    with pytest.raises(InvalidInput, match=r"^An amount of zero books nothing\.$"):
        budgets.parse_amount(typed)


def test_amounts_are_exact_decimals():
    assert budgets.parse_amount("0.1") + budgets.parse_amount("0.2") == Decimal("0.30")
    assert budgets.parse_amount("-12.5") == Decimal("-12.50")
    assert budgets.parse_amount("999999999999.99") == Decimal("999999999999.99")


def _answer(fake_slack) -> str:  # type: ignore[no-untyped-def]
    return str(fake_slack.calls("response_url")[-1].args["text"])


def test_cost_books_and_owners_are_told_once_at_80_and_100_percent(
    slack, ctx, fake_slack, database, clock
):
    slack.command("/cost", "payments 7999.99 licences <!channel> Datadog", user_id="U0AGENT1")
    booked = _answer(fake_slack)
    assert "Booked a cost of EUR 7,999.99 (licences) against *payments*" in booked
    assert "&lt;!channel&gt; Datadog" in booked and "<!channel>" not in booked
    assert "EUR 7,999.99 of EUR 10,000.00 (79.9 %) — EUR 2,000.01 left" in booked  # rounded down
    slack.command("/cost", "payments 0.01 licences", user_id="U0AGENT1")
    assert "EUR 8,000.00 of EUR 10,000.00 (80.0 %) :warning:" in _answer(fake_slack)
    slack.command("/cost", "payments 100 hosting", user_id="U0AGENT1")  # still 80 %+: no repeat
    for _ in range(2):
        ctx.notifier.send_due()
    lead = [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "DU0LEAD"
    ]
    assert lead == [
        ":moneybag: *payments* has used 80 % of its 2026-Q4 budget: EUR 8,000.00 of "
        "EUR 10,000.00 (80.0 %). `/servicedesk budget` shows every service."
    ]
    slack.command("/cost", "Payments 1900 hosting", user_id="U0AGENT1")
    assert "(100.0 %) :rotating_light: — EUR 0.00 left" in _answer(fake_slack)
    slack.command("/cost", "payments -50 hosting refund", user_id="U0AGENT1")
    assert "Booked a credit of EUR -50.00" in _answer(fake_slack)
    slack.command("/cost", "payments 60 hosting", user_id="U0AGENT1")  # back over: no repeat
    ctx.notifier.send_due()
    with database.session() as session:
        alerts = session.exec(select(BudgetAlert)).all()
    assert [(a.service, a.period, a.threshold, a.actual_cents) for a in alerts] == [
        ("payments", "2026-Q4", 80, 800000),
        ("payments", "2026-Q4", 100, 1000000),
    ]
    lead = [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "DU0LEAD"
    ]
    assert len(lead) == 2 and lead[1].startswith(":rotating_light: *payments* is over its 2026-Q4")

    slack.command("/servicedesk", "budget", user_id="U0STRANGER")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "*payments* 2026-Q4: EUR 10,010.00 of EUR 10,000.00 (100.1 %) :rotating_light:" in shown
    assert "EUR 10.00 over" in shown
    assert (
        "*vpn* 2026: EUR 0.00 of EUR 5,000.50 (0.0 %) — EUR 5,000.50 left, <@U0VPNOWNER>" in shown
    )
    slack.command("/servicedesk", "budget 2027", user_id="U0STRANGER")
    assert "No budget is for `2027`. Periods: 2026, 2026-Q4." in _answer(fake_slack)
    slack.command("/cost", "list payments", user_id="U0STRANGER")
    assert "refund" in str(fake_slack.calls("response_url")[-1].args)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("mail 10 licences", "`mail` is not a service"),
        ("payments 1e9 licences", "is not an amount"),
        ("payments " + "9" * 100 + " licences", "is not an amount"),
        ("payments 10 beer", "'beer' is not a cost category"),
        ("payments 10", "Give the amount and the category"),
        ("payments 10 licences " + "x" * 400, "under 300 characters"),
    ],
)
def test_bad_costs_are_answered_and_nothing_is_booked(slack, fake_slack, database, text, answer):
    slack.command("/cost", text, user_id="U0AGENT1")
    assert answer in _answer(fake_slack)
    with database.session() as session:
        assert session.exec(select(Cost)).all() == []


def test_a_100k_character_command_is_refused_before_anything_runs(slack, database):
    answer = slack.command("/cost", "payments 10 licences " + "x" * 100_000, user_id="U0AGENT1")
    assert "Nothing was done" in answer.body["text"]
    with database.session() as session:
        assert session.exec(select(Cost)).all() == []


def test_only_agents_book_costs(slack, fake_slack, database):
    slack.command("/cost", "payments 10 licences", user_id="U0STRANGER")
    assert _answer(fake_slack).startswith("Refused, because only service desk agents can record")
    with database.session() as session:
        assert session.exec(select(Cost)).all() == []


def _import(database, policy, path, capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    code = cost_command(argparse.Namespace(cost_action="import", file=str(path)), database, policy)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_csv_is_booked_and_its_budgets_checked_once(database, policy, tmp_path, capsys, clock):
    rows = "".join(f"2026-10-{day:02d},payments,1000.10,hosting,day {day}\n" for day in range(1, 9))
    path = tmp_path / "costs.csv"
    path.write_text(
        "date,service,amount,category,note\n" + rows + '2026-11-01,vpn,0.10,staff,"=1+2"\n'
    )
    code, out = _import(database, policy, path, capsys)
    assert code == 0, out
    assert "costs.csv: 9 cost(s) booked; budget alerts: payments 2026-Q4 80 %" in out
    with database.session() as session:
        assert (
            budgets.spent(
                session,
                service="payments",
                starts=datetime(2026, 10, 1).date(),
                ends=datetime(2027, 1, 1).date(),
            )
            == 800080
        )
        vpn = session.exec(select(Cost).where(Cost.service == "vpn")).one()
    assert (vpn.amount, vpn.note, vpn.source) == (Decimal("0.10"), "=1+2", "import costs.csv")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"date,service,amount,category\n2026-10-01,payments,10,hosting\n2026-10-02,caf\xe9,1,x\n",
            "line 3: not UTF-8 text",
        ),
        (
            b"date,service,amount,category\n2026-10-01,payments," + b"9" * 5000 + b",hosting\n",
            "line 2: '99999",
        ),
        (
            b"date,service,amount,category\n2026-10-01,payments,1e999,hosting\n",
            "line 2: '1e999' is not an amount",
        ),
        (b"date,service,amount\n", "line 1: the first line must be a header"),
        (b"", "line 1: the first line must be a header"),
        (b"date,service,amount,category\n", "line 1: the file has no costs"),
        (
            b"date,service,amount,category\n2026-02-30,payments,1,hosting\n",
            "line 2: '2026-02-30' is not a date",
        ),
        (
            b"date,service,amount,category\n2027-01-01,payments,1,hosting\n",
            "line 2: A cost cannot be incurred in the future",
        ),
        (
            b'date,service,amount,category\n2026-10-01,payments,1,hosting,"'
            + b"x" * 200_000
            + b'"\n',
            "line 2:",
        ),
        (b"date,service,amount,category\n2026-10-01,pay\x00ments,1,hosting\n", "line 2:"),
    ],
)
def test_hostile_files_get_a_line_and_nothing_is_booked(
    database, policy, tmp_path, capsys, clock, content, expected
):
    path = tmp_path / "costs.csv"
    path.write_bytes(content)
    code, out = _import(database, policy, path, capsys)
    assert code == 1 and expected in out, out
    assert "Traceback" not in out
    with database.session() as session:
        assert session.exec(select(Cost)).all() == []


def test_a_missing_file_is_one_line(database, policy, tmp_path, capsys):
    code, out = _import(database, policy, tmp_path / "nope.csv", capsys)
    assert code == 1 and "nope.csv" in out and "Traceback" not in out


def test_a_booked_cost_is_from_slack_and_audited_with_amount_category_and_note(
    database, policy, clock
):
    with database.session() as session:
        noted, _ = budgets.record_cost(
            session,
            service="vpn",
            amount="12.50",
            category="licences",
            note="yearly seat",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
        bare, _ = budgets.record_cost(
            session,
            service="vpn",
            amount="3",
            category="hardware",
            note=None,
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
        keys = (f"COST-{noted.id}", f"COST-{bare.id}")
    with database.session() as session:
        assert [c.source for c in session.exec(select(Cost)).all()] == ["slack", "slack"]
        rows = [
            (e.action, e.actor, e.to_value, e.note) for key in keys for e in trail(session, key=key)
        ]
    assert rows == [
        ("cost recorded", "U0AGENT1", "12.50 licences", "vpn: yearly seat"),
        ("cost recorded", "U0AGENT1", "3.00 hardware", "vpn"),
    ]


def test_recent_costs_are_the_latest_twenty_newest_day_first(database, policy, clock):
    today = clock.now().date()
    days = [today - timedelta(days=n % 7) for n in range(25)]  # several costs on each day
    with database.session() as session:
        booked = [
            budgets.record_cost(
                session,
                service="vpn",
                amount=str(n + 1),
                category="other",
                note=None,
                actor=AGENT,
                now=clock.now(),
                policy=policy,
                incurred_on=day,
            )[0].id
            for n, day in enumerate(days)
        ]
    expected = sorted(zip(days, booked, strict=True), key=lambda row: (row[0], row[1]))[::-1][:20]
    with database.session() as session:
        got = [(c.incurred_on, c.id) for c in budgets.recent(session)]
        assert budgets.recent(session, service="Payments") == []
    assert got == expected


@pytest.mark.parametrize("with_session", [False, True])
@pytest.mark.parametrize(
    ("service", "category", "note", "message"),
    [
        (
            "<b>" + "m" * 70,
            "other",
            None,
            "'&lt;b&gt;" + "m" * 57 + "' is not a service. Services: ",
        ),
        (None, "other", None, "'' is not a service. Services: "),
        ("vpn", "<i>" + "c" * 70, None, "'&lt;i&gt;" + "c" * 57 + "' is not a cost category. "),
        ("vpn", None, None, "'' is not a cost category. Categories: staff, licences, "),
        ("vpn", "other", "n" * (budgets.NOTE_MAX + 1), "Keep the note under 300 characters."),
    ],
)
def test_a_bad_cost_is_refused_by_name_with_what_is_allowed(
    database, policy, clock, with_session, service, category, note, message
):
    def check(session):  # type: ignore[no-untyped-def]
        return budgets.check_cost(
            policy,
            service=service,
            amount="5",
            category=category,
            note=note,
            incurred_on=clock.now().date(),
            today=clock.now().date(),
            session=session,
        )

    with database.session() as session, pytest.raises(InvalidInput) as refused:
        check(session if with_session else None)
    assert str(refused.value).startswith(message)
    if "is not a service" in message:
        names = ", ".join(s.name for s in policy.services)
        assert str(refused.value).endswith(f"Services: {names}.")
    if "cost category" in message:
        assert str(refused.value).endswith(
            "Categories: staff, licences, hardware, hosting, suppliers, other."
        )


def test_a_note_as_long_as_the_limit_is_kept_in_one_line(database, policy, clock):
    checked = budgets.check_cost(
        policy,
        service="VPN",
        amount=Decimal("5"),
        category=" Other ",
        note="n" * 149 + "   " + "n" * 150,
        incurred_on=clock.now().date(),
        today=clock.now().date(),
    )
    assert (checked.service, checked.category, checked.amount_cents) == ("vpn", "other", 500)
    assert checked.note == "n" * 149 + " " + "n" * 150
    assert len(checked.note) == budgets.NOTE_MAX


def test_an_alert_is_stored_queued_and_audited_for_the_budget_owner(database, policy, clock):
    from models.notification import Notification

    with database.session() as session:
        _, alerts = budgets.record_cost(
            session,
            service="vpn",
            amount="4000.40",  # 80 % of 5,000.50
            category="licences",
            note=None,
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
        assert [(a.threshold, a.owner) for a in alerts] == [(80, "U0VPNOWNER")]
        key = alerts[0].key
    with database.session() as session:
        stored = session.exec(select(BudgetAlert)).one()
        assert (stored.owner, stored.alerted_at) == ("U0VPNOWNER", clock.now())
        queued = session.exec(select(Notification).where(Notification.record_key == key)).all()
        assert [(n.kind, n.stage, n.recipient, n.due_at) for n in queued] == [
            ("budget", "80%", "U0VPNOWNER", clock.now())
        ]
        entries = [(e.actor, e.action, e.to_value, e.note) for e in trail(session, key=key)]
    assert entries == [
        ("servicedesk", "budget 80 % reached", "4000.40", "vpn 2026: budget 5000.50")
    ]
