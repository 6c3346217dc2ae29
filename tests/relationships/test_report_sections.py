"""The satisfaction and supplier-performance sections a service report carries, per scope."""

from __future__ import annotations

from datetime import timedelta

from services import incidents, suppliers, surveys
from services.permissions import Actor
from services.relationship_report import satisfaction_section, supplier_section
from services.reports.figures import SectionQuery
from services.reports.period import Period
from services.reports.scope import Scope
from tests.relationships.conftest import AGENT, held_incident, resolved_incident


def query(session, policy, clock, services=None):  # type: ignore[no-untyped-def]
    period = Period(clock.now() - timedelta(days=1), clock.now() + timedelta(hours=1), "range")
    scope = Scope("all") if services is None else Scope("service", services[0], tuple(services))
    return SectionQuery(session, policy, scope, period, clock.now())


def test_satisfaction_rows_per_scope(database, clock, policy):
    for reporter, score, service in (
        ("U0A", 5, "payments"),
        ("U0B", 2, "payments"),
        ("U0C", 4, "vpn"),
    ):
        key = resolved_incident(database, clock, policy, reporter=reporter, service=service)
        with database.session() as s:
            surveys.sweep(s, now=clock.now(), policy=policy)
            surveys.answer(
                s,
                record_key=key,
                score=score,
                actor=Actor(reporter),
                now=clock.now(),
                policy=policy,
            )
    with database.session() as s:
        everything = satisfaction_section(query(s, policy, clock))
        payments = satisfaction_section(query(s, policy, clock, ["payments"]))
        wiki = satisfaction_section(query(s, policy, clock, ["wiki"]))
    assert everything is not None and dict(everything.rows)["Average score"] == "3.67 / 5"
    assert payments is not None and dict(payments.rows) == {
        "Surveys sent": "2",
        "Answered": "2 (100%)",
        "Average score": "3.50 / 5",
        "Distribution": "1: 0 · 2: 1 · 3: 0 · 4: 0 · 5: 1",
    }
    assert wiki is None  # nothing surveyed for that scope


def test_supplier_rows_only_for_suppliers_of_the_scope(database, clock, policy):
    key = held_incident(database, clock, policy)
    with database.session() as s:
        suppliers.set_wait(
            s,
            key=key,
            supplier="Acme Networks",
            ticket_ref="T-1",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
    clock.advance(timedelta(hours=2))
    with database.session() as s:
        incidents.resume(s, key=key, actor=AGENT, now=clock.now(), policy=policy)
    with database.session() as s:
        vpn = supplier_section(query(s, policy, clock, ["vpn"]))
        payments = supplier_section(query(s, policy, clock, ["payments"]))
        everything = supplier_section(query(s, policy, clock))
    assert vpn is not None and vpn.rows == [
        ("Acme Networks", "1 records, median wait 2h, 100% within contract")
    ]
    assert payments is None
    assert everything == vpn
