"""The satisfaction and supplier-performance sections of a service report: registered, measured
per scope beside the previous period, and left out when the scope has nothing."""

from __future__ import annotations

from datetime import timedelta

from services import incidents, suppliers, surveys
from services.permissions import Actor
from services.reports import build_report, parse_period, resolve, text
from tests.relationships.conftest import AGENT, held_incident, resolved_incident


def _rows(database, policy, clock, scope: str):  # type: ignore[no-untyped-def]
    period = parse_period("2026-11", now=clock.now())
    with database.session() as s:
        report = build_report(s, policy, resolve(policy, scope), period, clock.now())
    rows = {(r.group, r.label): (r.current, r.previous) for r in text.summary_rows(report)}
    return report, rows


def test_satisfaction_rows_per_scope(database, clock, policy):
    clock.advance(timedelta(days=-3))  # within November whatever the month's length
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
            if score == 2:
                surveys.add_comment(
                    s,
                    record_key=key,
                    comment="Slow",
                    actor=Actor(reporter),
                    now=clock.now(),
                    policy=policy,
                )
    clock.advance(timedelta(days=3))
    report, rows = _rows(database, policy, clock, "all")
    assert rows[("Satisfaction", "Average score (1-5)")] == ("3.67", "—")
    assert rows[("Satisfaction", "Surveys sent")] == ("3", "0")
    section = next(s for s in report.sections if s.key == "satisfaction")
    details = section.details(report, report.current.values["satisfaction"])
    assert details[0].rows == (("INC-2", "2", "Slow"),)
    report, rows = _rows(database, policy, clock, "payments")
    assert rows[("Satisfaction", "Response rate")][0] == "100.0 %"
    assert rows[("Satisfaction", "Scores 1 / 2 / 3 / 4 / 5")][0] == "0 / 1 / 0 / 0 / 1"
    report, rows = _rows(database, policy, clock, "wiki")
    assert report.current.values.get("satisfaction") is None  # nothing surveyed there
    assert not [key for key in rows if key[0] == "Satisfaction"]


def test_supplier_rows_only_for_suppliers_of_the_scope(database, clock, policy):
    clock.advance(timedelta(days=-3))
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
    clock.advance(timedelta(days=3))
    _, vpn = _rows(database, policy, clock, "vpn")
    assert vpn[("Supplier performance", "Acme Networks: records waited on")] == ("1", "0")
    assert vpn[("Supplier performance", "Acme Networks: median wait")][0] == "2.0h"
    assert vpn[("Supplier performance", "Acme Networks: within contract")][0] == "100.0 %"
    _, payments = _rows(database, policy, clock, "payments")
    assert not [key for key in payments if key[0] == "Supplier performance"]
