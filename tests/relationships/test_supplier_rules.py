"""Naming the supplier a record waits on, at the service level: one row per record, updated
and audited from → to when the supplier or ticket changes; keys of every kind that may name
one; exact refusals for keys, suppliers and ticket references."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.policy import parse_policy
from models.relationship import SupplierWait
from services import audit, problems, suppliers
from services.errors import InvalidInput, NotFound
from tests.relationships.conftest import AGENT, RELATIONSHIP_POLICY, held_incident

TWO_SUPPLIERS = (
    RELATIONSHIP_POLICY
    + """
[[suppliers]]
name = "Beta Hosting"
contact = "help@beta.example"
services = ["vpn"]
"""
)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(TWO_SUPPLIERS)


def _wait(database, clock, policy, key: str, supplier: str | None, ticket: str = ""):  # type: ignore[no-untyped-def]
    with database.session() as session:
        row = suppliers.set_wait(
            session,
            key=key,
            supplier=supplier,
            ticket_ref=ticket,
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
        return (row.record_key, row.supplier, row.ticket_ref, row.set_by, row.set_at)


def test_naming_another_supplier_updates_the_records_one_row_and_audits_from_and_to(
    database, clock, policy
):
    key = held_incident(database, clock, policy)
    first_at = clock.now()
    assert _wait(database, clock, policy, key, "Acme Networks", "T-1") == (
        key,
        "Acme Networks",
        "T-1",
        AGENT.user_id,
        first_at,
    )
    clock.advance(minutes=30)
    later = clock.now()
    assert _wait(database, clock, policy, key.lower(), "beta hosting", "  B  77 ") == (
        key,
        "Beta Hosting",
        "B 77",
        AGENT.user_id,
        later,
    )
    with database.session() as session:
        rows = session.exec(select(SupplierWait)).all()
        assert [(r.record_key, r.supplier) for r in rows] == [(key, "Beta Hosting")]
        trail = [
            (e.action, e.field, e.from_value, e.to_value, e.note)
            for e in audit.trail(session, key=key)
            if e.action == "supplier"
        ]
    assert trail == [
        ("supplier", "supplier", None, "Acme Networks", "T-1"),
        ("supplier", "supplier", "Acme Networks", "Beta Hosting", "B 77"),
    ]


def test_a_problem_names_a_supplier_and_without_a_name_none_is_guessed(database, clock, policy):
    with database.session() as session:
        key = problems.raise_problem(session, title="Flaps", actor=AGENT, now=clock.now()).key
    with pytest.raises(
        InvalidInput, match=f"^Which supplier\\? For example `/supplier wait {key} NAME TICKET`\\.$"
    ):
        _wait(database, clock, policy, key, None)
    assert _wait(database, clock, policy, key, "Acme Networks")[:3] == (key, "Acme Networks", "")


@pytest.mark.parametrize("key", ["REQ-1", "<!channel>-1", "SUP-1"])
def test_a_key_of_another_kind_is_refused_by_name(database, clock, policy, key):
    shown = key.replace("<", "&lt;").replace(">", "&gt;")
    with pytest.raises(
        InvalidInput,
        match=f"^'{shown}' is not an incident, problem or change key; "
        "they look like INC-4, PRB-2 or CHG-7\\.$",
    ):
        _wait(database, clock, policy, key, "Acme Networks")


def test_an_unknown_supplier_is_refused_with_the_ones_there_are(database, clock, policy):
    key = held_incident(database, clock, policy)
    with pytest.raises(
        NotFound,
        match="^'Gamma' is not a supplier\\. Suppliers: Acme Networks, Beta Hosting\\.$",
    ):
        _wait(database, clock, policy, key, "Gamma")


def test_a_ticket_reference_may_be_as_long_as_the_limit_and_no_longer(database, clock, policy):
    key = held_incident(database, clock, policy)
    longest = "T" * suppliers.TICKET_MAX
    assert _wait(database, clock, policy, key, "Acme Networks", longest)[2] == longest
    with pytest.raises(
        InvalidInput,
        match=f"^Keep the ticket reference under {suppliers.TICKET_MAX} characters\\.$",
    ):
        _wait(database, clock, policy, key, "Acme Networks", longest + "T")
