"""`/servicedesk csat` and `/supplier` through the real Bolt App, and the supplier sweep:
waits measured against the contract, a breach told to the owner once, contract reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models.notification import Notification
from schedules.relationships import sweep_relationships
from services import incidents, suppliers, surveys
from tests.relationships.conftest import (
    AGENT,
    SUPPLIER_OWNER,
    held_incident,
    resolved_incident,
)


def answered(
    database,
    clock,
    policy,
    score: int,
    *,
    reporter: str,
    service: str = "payments",
    comment: str | None = None,
) -> str:  # type: ignore[no-untyped-def]
    key = resolved_incident(database, clock, policy, reporter=reporter, service=service)
    with database.session() as s:
        surveys.sweep(s, now=clock.now(), policy=policy)
    with database.session() as s:
        from services.permissions import Actor

        surveys.answer(
            s, record_key=key, score=score, actor=Actor(reporter), now=clock.now(), policy=policy
        )
        if comment:
            surveys.add_comment(
                s,
                record_key=key,
                comment=comment,
                actor=Actor(reporter),
                now=clock.now(),
                policy=policy,
            )
    return key


def last_answer(fake_slack) -> str:  # type: ignore[no-untyped-def]
    return str(fake_slack.calls("response_url")[-1].args)


def test_csat_by_service_team_and_customer(slack, fake_slack, database, clock, policy):
    answered(database, clock, policy, 5, reporter="U0A")
    answered(database, clock, policy, 2, reporter="U0B", comment="<!here> slow")
    resolved_incident(database, clock, policy, reporter="U0C")  # asked, not answered
    answered(database, clock, policy, 4, reporter="U0D", service="vpn")
    with database.session() as s:
        surveys.sweep(s, now=clock.now(), policy=policy)
    clock.advance(seconds=1)
    with database.session() as s:
        everything = surveys.figures(s, since=clock.now() - timedelta(days=1), until=clock.now())
        payments = surveys.figures(
            s, since=clock.now() - timedelta(days=1), until=clock.now(), service="payments"
        )
    assert (everything.asked, everything.answered) == (4, 3)
    assert payments.distribution == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert payments.average == 3.5 and round(payments.response_rate or 0) == 67

    slack.command("/servicedesk", "csat payments 7d", user_id="U0AGENT1")
    shown = last_answer(fake_slack)
    assert "service payments" in shown and "3.50 / 5" in shown and "67%" in shown
    assert "&lt;!here&gt; slow" in shown and "<!here>" not in shown
    slack.command("/servicedesk", "csat network", user_id="U0AGENT1")
    assert "team network" in last_answer(fake_slack) and "4.00 / 5" in last_answer(fake_slack)
    slack.command("/servicedesk", "csat Retail", user_id="U0AGENT1")
    assert "customer Retail" in last_answer(fake_slack)
    slack.command("/servicedesk", "csat <!channel>", user_id="U0AGENT1")
    assert "is not a service, team, customer or period" in last_answer(fake_slack)
    assert "<!channel>" not in last_answer(fake_slack)
    slack.command("/servicedesk", "csat 999999d", user_id="U0AGENT1")
    assert "at most ten years" in last_answer(fake_slack)
    slack.command("/servicedesk", "help", user_id="U0AGENT1")
    assert "/servicedesk csat" in last_answer(fake_slack)


def test_supplier_wait_breach_and_performance(ctx, slack, fake_slack, database, clock, policy):
    key = held_incident(database, clock, policy)
    slack.command("/supplier", f"wait {key} Acme Networks T-99 <b>", user_id="U0STRANGER")
    assert "Refused, because" in last_answer(fake_slack)
    slack.command("/supplier", f"wait {key} Acme Networks T-99 <b>", user_id="U0AGENT1")
    assert "now waits on Acme Networks (their ticket T-99 &lt;b&gt;)" in last_answer(fake_slack)
    slack.command("/supplier", "wait INC-999 Acme", user_id="U0AGENT1")
    assert "There is no incident INC-999" in last_answer(fake_slack)
    slack.command("/supplier", "list", user_id="U0AGENT1")
    assert "Acme Networks" in last_answer(fake_slack) and "1 record(s) waiting" in last_answer(
        fake_slack
    )
    # Within the 8h contract: no note. Past it: the owner is told, once.
    clock.advance(timedelta(hours=7))
    sweep_relationships(db=ctx.db, clock=ctx.clock, policy=policy)
    clock.advance(timedelta(hours=2))
    for _ in range(2):
        sweep_relationships(db=ctx.db, clock=ctx.clock, policy=policy)
    with database.session() as s:
        breach = s.exec(
            select(Notification).where(
                Notification.kind == "supplier", Notification.record_key == key
            )
        ).all()
    assert [(n.recipient, n.stage.startswith("breach:")) for n in breach] == [
        (SUPPLIER_OWNER, True)
    ]
    slack.command("/supplier", "show acme networks", user_id="U0AGENT1")
    shown = last_answer(fake_slack)
    assert "ACME-2025-7" in shown and key in shown and "VPN drops" in shown
    assert "*Within contract*\\n0%" in shown and "*Median wait*\\n9h" in shown
    # Resumed after 9h: still counted, in the period.
    with database.session() as s:
        incidents.resume(s, key=key, actor=AGENT, now=clock.now(), policy=policy)
    second = held_incident(database, clock, policy)
    slack.command("/supplier", f"wait {second}", user_id="U0AGENT1")  # vpn's one supplier
    clock.advance(timedelta(hours=1))
    with database.session() as s:
        found = suppliers.performance(
            s, supplier=policy.suppliers[0], since=clock.now() - timedelta(days=30), now=clock.now()
        )
    assert (found.records, found.breached, found.within) == (2, 1, 50.0)
    assert found.median_wait == timedelta(hours=5)
    slack.command("/supplier", "show Nobody", user_id="U0AGENT1")
    assert "is not a supplier" in last_answer(fake_slack)
    slack.command("/supplier", "frobnicate", user_id="U0AGENT1")
    assert "not a /supplier sub-command" in last_answer(fake_slack)


def test_contract_reminders_at_90_and_30_days(ctx, fake_slack, database, clock, policy):
    sweep_relationships(db=ctx.db, clock=ctx.clock, policy=policy)
    sweep_relationships(db=ctx.db, clock=ctx.clock, policy=policy)
    with database.session() as s:
        rows = s.exec(
            select(Notification)
            .where(
                Notification.kind == "reminder",
                Notification.record_key == suppliers.supplier_key("Acme Networks"),
            )
            .order_by(Notification.due_at)
        ).all()
    assert [(r.recipient, r.due_at) for r in rows] == [
        (SUPPLIER_OWNER, datetime(2026, 12, 31, 9, 0, tzinfo=UTC)),
        (SUPPLIER_OWNER, datetime(2027, 3, 1, 9, 0, tzinfo=UTC)),
    ]
    assert "ends on Wed 31 Mar 2027" in rows[0].text


def test_a_supplier_hold_names_the_services_supplier_or_asks_once(
    ctx, slack, fake_slack, database, clock, policy
):
    from models.relationship import SupplierWait

    on_vpn = held_incident(database, clock, policy, service="vpn")
    on_payments = held_incident(database, clock, policy, service="payments")
    for _ in range(2):
        sweep_relationships(db=ctx.db, clock=ctx.clock, policy=policy)
    with database.session() as s:
        named = {w.record_key: (w.supplier, w.set_by) for w in s.exec(select(SupplierWait))}
        asked = s.exec(
            select(Notification).where(
                Notification.kind == "supplier", Notification.stage == "which"
            )
        ).all()
    assert named == {on_vpn: ("Acme Networks", "servicedesk")}  # vpn's one supplier
    assert [(a.record_key, a.recipient) for a in asked] == [(on_payments, "U0AGENT1")]
    assert f"/supplier wait {on_payments} NAME TICKET" in asked[0].text


def test_problems_and_changes_can_name_a_supplier(slack, fake_slack, database, clock, policy):
    from services import problems

    with database.session() as s:
        problem = problems.raise_problem(s, title="Flaps", actor=AGENT, now=clock.now()).key
    slack.command("/supplier", f"wait {problem} Acme Networks", user_id="U0AGENT1")
    assert f"{problem} now waits on Acme Networks" in last_answer(fake_slack)
    slack.command("/supplier", "show Acme Networks", user_id="U0AGENT1")
    assert f"Also named by: {problem}" in last_answer(fake_slack)
    slack.command("/supplier", "wait REL-1 Acme Networks", user_id="U0AGENT1")
    assert "not an incident, problem or change key" in last_answer(fake_slack)
