"""Putting an incident on hold awaiting a named supplier (the On hold form's service call), and
reading the waits back: who is named by whom, the waits a report reads with each of its
filters, and the open count per supplier. Service level, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.policy import parse_policy
from models.incident import HoldReason, IncidentInput
from models.relationship import SupplierWait
from services import audit, incidents, suppliers
from services.suppliers import SupplierChoiceError, TicketError
from tests.relationships.conftest import AGENT, REPORTER
from tests.relationships.test_supplier_rules import TWO_SUPPLIERS


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(TWO_SUPPLIERS)  # Acme Networks and Beta Hosting both support vpn


def _acknowledged(database, clock, policy, service: str = "vpn") -> str:  # type: ignore[no-untyped-def]
    with database.session() as session:
        incident, _ = incidents.create(
            session,
            data=IncidentInput(title="Tunnel down", impact="low", urgency="low", service=service),
            reporter=REPORTER,
            now=clock.now(),
            policy=policy,
        )
        incidents.acknowledge(
            session, key=incident.key, actor=AGENT, now=clock.now(), policy=policy
        )
        return incident.key


def _hold(database, clock, policy, key, *, reason=HoldReason.SUPPLIER, supplier=None, ticket=""):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return suppliers.hold_awaiting(
            session,
            key=key,
            reason=reason,
            note="waiting",
            supplier=supplier,
            ticket_ref=ticket,
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        ).status


def _state(database, key: str) -> tuple[str, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        status = incidents.get(session, key=key).status
        rows = session.exec(select(SupplierWait).where(SupplierWait.record_key == key)).all()
        return status, [(r.supplier, r.ticket_ref) for r in rows]


def test_a_hold_naming_a_supplier_names_it_with_the_ticket_in_the_same_step(
    database, clock, policy
):
    key = _acknowledged(database, clock, policy)
    assert _hold(database, clock, policy, key, supplier="beta hosting", ticket=" B-9  x ") == (
        "on_hold"
    )
    assert _state(database, key) == ("on_hold", [("Beta Hosting", "B-9 x")])
    with database.session() as session:
        rows = [
            (e.field, e.from_value, e.to_value, e.note)
            for e in audit.trail(session, key=key)
            if e.action == "supplier"
        ]
    assert rows == [("supplier", None, "Beta Hosting", "B-9 x")]


@pytest.mark.parametrize(
    ("reason", "supplier", "ticket", "message"),
    [
        (
            HoldReason.CUSTOMER,
            "Acme Networks",
            "",
            "Name a supplier only when the incident awaits one.",
        ),
        (HoldReason.SUPPLIER, None, "T-1", "Choose the supplier whose ticket this is."),
        (HoldReason.CUSTOMER, None, "T-1", "Choose the supplier whose ticket this is."),
    ],
)
def test_a_supplier_or_ticket_that_does_not_fit_the_reason_is_refused_and_nothing_moves(
    database, clock, policy, reason, supplier, ticket, message
):
    key = _acknowledged(database, clock, policy)
    with pytest.raises(SupplierChoiceError) as refused:
        _hold(database, clock, policy, key, reason=reason, supplier=supplier, ticket=ticket)
    assert (str(refused.value), refused.value.field) == (message, "supplier")
    assert _state(database, key) == ("in_progress", [])


def test_a_supplier_of_another_service_is_refused_with_those_offered(database, clock, policy):
    key = _acknowledged(database, clock, policy, service="vpn")
    for name in ("Gamma <b>", "Acme Networks x"):
        with pytest.raises(SupplierChoiceError) as refused:
            _hold(database, clock, policy, key, supplier=name)
        shown = name.replace("<", "&lt;").replace(">", "&gt;")
        assert str(refused.value) == (
            f"'{shown}' is not a supplier of this incident's service. "
            "Choose one of: Acme Networks, Beta Hosting."
        )
    # The hold and the naming are one transaction: the refusal undid the hold too.
    assert _state(database, key) == ("in_progress", [])


def test_a_ticket_too_long_is_refused_by_its_field(database, clock, policy):
    key = _acknowledged(database, clock, policy)
    with pytest.raises(TicketError) as refused:
        _hold(database, clock, policy, key, supplier="Acme Networks", ticket="T" * 121)
    assert (str(refused.value), refused.value.field) == (
        "Keep the ticket reference under 120 characters.",
        "ticket_ref",
    )
    assert _state(database, key) == ("in_progress", [])


def test_a_hold_without_a_supplier_names_none_yet(database, clock, policy):
    key = _acknowledged(database, clock, policy)
    assert _hold(database, clock, policy, key) == "on_hold"
    assert _state(database, key) == ("on_hold", [])


def test_the_waits_are_read_back_by_supplier_period_and_openness(database, clock, policy):
    start = clock.now()
    first = _acknowledged(database, clock, policy)
    _hold(database, clock, policy, first, supplier="Acme Networks", ticket="A-1")
    clock.advance(hours=1)
    second = _acknowledged(database, clock, policy)
    _hold(database, clock, policy, second, supplier="Beta Hosting", ticket="B-1")
    clock.advance(hours=1)
    with database.session() as session:  # the first one's wait ends
        incidents.resume(session, key=first, actor=AGENT, now=clock.now(), policy=policy)
    ended = clock.now()
    clock.advance(hours=1)
    third = _acknowledged(database, clock, policy)
    _hold(database, clock, policy, third, supplier="Acme Networks", ticket="A-2")
    now = clock.now()
    with database.session() as session:
        every = suppliers.waits(session)
        assert [(w.record_key, w.supplier, w.ticket_ref) for w in every] == [
            (first, "Acme Networks", "A-1"),
            (second, "Beta Hosting", "B-1"),
            (third, "Acme Networks", "A-2"),
        ]
        assert (every[0].started_at, every[0].ended_at) == (start, ended)
        assert every[0].length(now) == timedelta(hours=2)
        assert every[1].length(now) == timedelta(hours=2)  # still open: until now
        assert [w.record_key for w in suppliers.waits(session, supplier="Acme Networks")] == [
            first,
            third,
        ]
        assert [w.record_key for w in suppliers.waits(session, open_only=True)] == [second, third]
        # Since: open ones and those that ended at or after it.
        assert [w.record_key for w in suppliers.waits(session, since=ended)] == [
            first,
            second,
            third,
        ]
        after = ended + timedelta(seconds=1)
        assert [w.record_key for w in suppliers.waits(session, since=after)] == [second, third]
        # Before: those that started before it.
        assert [w.record_key for w in suppliers.waits(session, before=start)] == []
        assert [w.record_key for w in suppliers.waits(session, before=now)] == [first, second]
        assert suppliers.open_count(session) == {"Beta Hosting": 1, "Acme Networks": 1}
        named = suppliers.named_by(session, supplier="Acme Networks")
        assert [w.record_key for w in named] == [third, first]  # newest first
        assert suppliers.named_by(session, supplier="acme networks") == []  # the stored name
