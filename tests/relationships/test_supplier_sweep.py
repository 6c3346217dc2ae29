"""The supplier sweep at the service level, with exact rows: contract-end reminders to the
supplier's owner (and what the count says), the owner's note for an open wait past the
resolution target (only past it, once per hold, with the ticket when there is one), which
holds the sweep names or asks about, and naming a supplier as an agent only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.policy import parse_policy
from models.incident import HoldReason, IncidentInput, SlaPause
from models.notification import Notification
from models.relationship import SupplierWait
from services import incidents, suppliers
from services.errors import Forbidden, NotFound
from services.permissions import Actor
from tests.relationships.conftest import (
    AGENT,
    RELATIONSHIP_POLICY,
    REPORTER,
    SUPPLIER_OWNER,
    held_incident,
)

NO_REFERENCE = (
    RELATIONSHIP_POLICY
    + """
[[suppliers]]
name = "Gamma Cables"
contact = "ops@gamma.example"
services = ["payments"]
contract_end = "2027-01-15"
contract_reminders = [30]
owner = "U0GAMMA"
"""
)


def _sweep(database, clock, policy) -> int:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return suppliers.sweep(session, now=clock.now(), policy=policy)


def _rows(database, kind: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return list(
            session.exec(
                select(Notification)
                .where(Notification.kind == kind)
                .order_by(Notification.due_at, Notification.id)
            )
        )


def test_contract_reminders_are_planned_once_with_the_reference_or_without(database, clock):
    policy = parse_policy(NO_REFERENCE)
    assert _sweep(database, clock, policy) == 3  # Acme's 90 and 30 days, Gamma's 30
    assert _sweep(database, clock, policy) == 0  # planned already
    rows = _rows(database, "reminder")
    assert [(r.record_key, r.stage, r.recipient, r.due_at) for r in rows] == [
        (
            suppliers.supplier_key("Gamma Cables"),
            "contract:30d@20261216T090000Z",
            "U0GAMMA",
            datetime(2026, 12, 16, 9, 0, tzinfo=UTC),
        ),
        (
            suppliers.supplier_key("Acme Networks"),
            "contract:90d@20261231T090000Z",
            SUPPLIER_OWNER,
            datetime(2026, 12, 31, 9, 0, tzinfo=UTC),
        ),
        (
            suppliers.supplier_key("Acme Networks"),
            "contract:30d@20270301T090000Z",
            SUPPLIER_OWNER,
            datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
        ),
    ]
    assert rows[0].text == (
        ":page_facing_up: The contract with Gamma Cables (no reference) ends on Fri 15 Jan 2027."
        " Renew, renegotiate or plan the exit."
    )
    assert rows[1].text == (
        ":page_facing_up: The contract with Acme Networks (ACME-2025-7) ends on Wed 31 Mar 2027."
        " Renew, renegotiate or plan the exit."
    )


def test_a_suppliers_key_is_short_stable_and_ignores_letter_case():
    key = suppliers.supplier_key("Acme Networks")
    # Stored on the outbox rows of planned reminders: a new value would orphan them.
    assert key == "SUP-1d6e720ab42c"
    assert key == suppliers.supplier_key("ACME NETWORKS")
    assert key != suppliers.supplier_key("Acme Network")
    assert key.startswith("SUP-") and len(key) == 16
    assert int(key[4:], 16) >= 0  # hexadecimal


def test_a_wait_past_the_resolution_target_tells_the_owner_once(database, clock, policy):
    # The test policy: Acme Networks alone supports vpn, so the hold is named at once.
    key = held_incident(database, clock, policy, service="vpn")
    assert _sweep(database, clock, policy) == 3  # named, and the two contract reminders
    with database.session() as session:
        wait = session.exec(select(SupplierWait).where(SupplierWait.record_key == key)).one()
        wait.ticket_ref = "AC-<42>"
        (pause_id,) = [w.pause_id for w in suppliers.waits(session, open_only=True)]
    clock.advance(hours=8)  # exactly the resolution target: not past it
    assert _sweep(database, clock, policy) == 0
    assert _rows(database, "supplier") == []
    clock.advance(seconds=1)
    assert _sweep(database, clock, policy) == 1
    assert _sweep(database, clock, policy) == 0  # once per hold
    (row,) = _rows(database, "supplier")
    assert (row.record_key, row.stage, row.recipient, row.due_at) == (
        key,
        f"breach:{pause_id}",
        SUPPLIER_OWNER,
        clock.now(),
    )
    assert row.text == (
        f":rotating_light: {key} has waited on Acme Networks (their ticket AC-&lt;42&gt;) "
        "longer than their contracted resolution target."
    )


def test_a_wait_without_a_ticket_says_none_and_a_supplier_without_a_target_is_quiet(
    database, clock
):
    policy = parse_policy(NO_REFERENCE)
    # Gamma's wait is the older one, so the sweep meets it first and must go on past it.
    on_payments = held_incident(database, clock, policy, service="payments")  # Gamma: none
    clock.advance(minutes=1)
    on_vpn = held_incident(database, clock, policy, service="vpn")  # Acme: 8 h target
    _sweep(database, clock, policy)
    clock.advance(days=2)
    assert _sweep(database, clock, policy) == 1
    (row,) = _rows(database, "supplier")
    assert row.record_key == on_vpn and on_payments != on_vpn
    assert row.text == (
        f":rotating_light: {on_vpn} has waited on Acme Networks longer than their contracted "
        "resolution target."
    )


def test_only_holds_awaiting_a_supplier_and_naming_none_are_named_or_asked(database, clock):
    policy = parse_policy(RELATIONSHIP_POLICY)
    awaiting = held_incident(database, clock, policy, service="vpn")
    with database.session() as session:  # on hold for the customer: not the sweep's
        incident, _ = incidents.create(
            session,
            data=IncidentInput(title="Waiting", impact="low", urgency="low", service="vpn"),
            reporter=REPORTER,
            now=clock.now(),
            policy=policy,
        )
        kw = {"key": incident.key, "actor": AGENT, "now": clock.now(), "policy": policy}
        incidents.acknowledge(session, **kw)
        incidents.hold(session, reason=HoldReason.CUSTOMER, note="asked them", **kw)
        customer_hold = incident.key
    resumed = held_incident(database, clock, policy, service="vpn")
    with database.session() as session:
        incidents.resume(session, key=resumed, actor=AGENT, now=clock.now(), policy=policy)
    with database.session() as session:
        assert [row[0] for row in suppliers.unnamed_holds(session)] == [awaiting]
    _sweep(database, clock, policy)
    with database.session() as session:
        assert suppliers.unnamed_holds(session) == []
        named = session.exec(select(SupplierWait)).all()
        assert [(w.record_key, w.supplier, w.ticket_ref, w.set_by, w.set_at) for w in named] == [
            (awaiting, "Acme Networks", "", "servicedesk", clock.now())
        ]
        assert suppliers.titles(session, [awaiting, customer_hold, "PRB-1"]) == {
            awaiting: "VPN drops",
            customer_hold: "Waiting",
        }


def test_only_an_agent_names_the_supplier(database, clock):
    policy = parse_policy(RELATIONSHIP_POLICY)
    key = held_incident(database, clock, policy, service="vpn")
    with pytest.raises(Forbidden) as refused, database.session() as session:
        suppliers.set_wait(
            session,
            key=key,
            supplier="Acme Networks",
            ticket_ref="",
            actor=Actor(REPORTER, frozenset()),
            now=clock.now() + timedelta(minutes=1),
            policy=policy,
        )
    assert str(refused.value) == (
        "Refused, because only service desk agents can name the supplier a record waits on. "
        "Ask an agent, or an admin to add you."
    )


def test_ended_waits_and_suppliers_gone_from_the_policy_are_not_noted(database, clock, policy):
    ended = held_incident(database, clock, policy, service="vpn")
    gone = held_incident(database, clock, policy, service="vpn")
    _sweep(database, clock, policy)  # both named Acme Networks
    with database.session() as session:
        session.exec(
            select(SupplierWait).where(SupplierWait.record_key == gone)
        ).one().supplier = "Old Supplier"
    clock.advance(hours=9)  # both past Acme's 8 hours
    with database.session() as session:
        incidents.resume(session, key=ended, actor=AGENT, now=clock.now(), policy=policy)
    clock.advance(hours=1)
    assert _sweep(database, clock, policy) == 0
    assert _rows(database, "supplier") == []


def test_the_open_count_counts_every_wait_of_a_supplier(database, clock, policy):
    for _ in range(3):
        held_incident(database, clock, policy, service="vpn")
    _sweep(database, clock, policy)
    with database.session() as session:
        assert suppliers.open_count(session) == {"Acme Networks": 3}
        pauses = session.exec(select(SlaPause.id).order_by(SlaPause.id)).all()
        assert sorted(w.pause_id for w in suppliers.waits(session)) == list(pauses)


def test_named_by_gives_the_twenty_newest_ties_by_the_later_row(database, clock, policy):
    for _ in range(22):
        held_incident(database, clock, policy, service="vpn")
    _sweep(database, clock, policy)  # all named at the same instant
    with database.session() as session:
        named = suppliers.named_by(session, supplier="Acme Networks")
        newest_rows = session.exec(
            select(SupplierWait.record_key).order_by(SupplierWait.id.desc())  # type: ignore[union-attr]
        ).all()
    assert len(newest_rows) == 22
    assert [w.record_key for w in named] == list(newest_rows)[:20]


def test_an_unknown_supplier_is_named_with_the_ones_there_are_or_none(database, clock, policy):
    key = held_incident(database, clock, policy, service="vpn")
    long_name = "N" * 61
    with pytest.raises(NotFound) as unknown, database.session() as session:
        suppliers.set_wait(
            session,
            key=key,
            supplier=long_name,
            ticket_ref="",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
    assert str(unknown.value) == f"'{'N' * 60}' is not a supplier. Suppliers: Acme Networks."
    bare = parse_policy(RELATIONSHIP_POLICY.split("[[suppliers]]")[0])
    with pytest.raises(NotFound) as none_there, database.session() as session:
        suppliers.set_wait(
            session,
            key=key,
            supplier="Acme",
            ticket_ref="",
            actor=AGENT,
            now=clock.now(),
            policy=bare,
        )
    assert str(none_there.value) == "'Acme' is not a supplier. Suppliers: none configured."
    fresh = held_incident(database, clock, bare, service="payments")
    with pytest.raises(suppliers.SupplierChoiceError) as not_offered:
        with database.session() as session:
            incidents.resume(session, key=fresh, actor=AGENT, now=clock.now(), policy=bare)
            suppliers.hold_awaiting(
                session,
                key=fresh,
                reason=HoldReason.SUPPLIER,
                note="again",
                supplier="Acme",
                ticket_ref="",
                actor=AGENT,
                now=clock.now(),
                policy=bare,
            )
    assert str(not_offered.value) == (
        "'Acme' is not a supplier of this incident's service. Choose one of: none configured."
    )
