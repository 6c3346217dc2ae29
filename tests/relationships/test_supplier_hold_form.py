"""Putting an incident on hold "awaiting supplier" names the supplier and their ticket inside
the On hold form (issue 12), through signed requests and the real Bolt App; holds made without
a supplier are still asked about by DM."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.policy import parse_policy
from models.audit import AuditEntry
from models.notification import Notification
from models.relationship import SupplierWait
from schedules.relationships import sweep_relationships
from services import incidents
from tests.handlers.hostile import HOSTILE_SHORT, assert_no_markup
from tests.relationships.conftest import RELATIONSHIP_POLICY

AGENT = "U0AGENT1"

# Globex supports payments; Acme (the conftest's) supports vpn; nobody supports wiki.
POLICY = (
    RELATIONSHIP_POLICY
    + """
[[suppliers]]
name = "Globex"
services = ["payments"]
owner = "U0SUPOWNER"
"""
)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(POLICY)


def logged(slack, fake_slack, database, service: str) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    """An incident logged through the form and acknowledged; (key, its channel message)."""
    slack.command("/incident", "", user_id="U0REPORTER", channel_id="C0WORK")
    call = fake_slack.wait_for("views.open")[-1]
    view = fake_slack.view(call.response["view"]["id"])
    slack.submit(
        view,
        {"title": "It drops", "impact": "low", "urgency": "low", "service": service},
        user_id="U0REPORTER",
    )
    with database.session() as s:
        key = incidents.list_open(s)[0].key
    slack.click(message(fake_slack, database, key), "incident_acknowledge", user_id=AGENT)
    return key, message(fake_slack, database, key)


def message(fake_slack, database, key: str) -> dict:  # type: ignore[no-untyped-def]
    with database.session() as s:
        incident = incidents.get(s, key=key)
    return fake_slack.message(incident.channel_id, incident.message_ts)


def hold_form(slack, fake_slack, database, key: str) -> dict:  # type: ignore[no-untyped-def]
    slack.click(message(fake_slack, database, key), "incident_hold", user_id=AGENT)
    call = fake_slack.wait_for("views.open")[-1]
    return fake_slack.view(call.response["view"]["id"])


def offered(view: dict) -> list[str]:
    block = next(b for b in view["blocks"] if b.get("block_id") == "supplier")
    return [o["value"] for o in block["element"]["options"]]


def test_the_form_names_the_supplier_and_their_ticket(
    ctx, slack, fake_slack, database, clock, policy
):
    key, _ = logged(slack, fake_slack, database, "vpn")
    view = hold_form(slack, fake_slack, database, key)
    assert offered(view) == ["Acme Networks"]  # the supplier of vpn only
    result = slack.submit(
        view,
        {"hold_reason": "supplier", "supplier": "Acme Networks", "ticket_ref": "AC-77"},
        user_id=AGENT,
    )
    assert result.status == 200 and not result.body, result.body
    with database.session() as s:
        assert incidents.get(s, key=key).status == "on_hold"
        wait = s.exec(select(SupplierWait)).one()
        assert (wait.record_key, wait.supplier, wait.ticket_ref, wait.set_by) == (
            key,
            "Acme Networks",
            "AC-77",
            AGENT,
        )
        audited = s.exec(select(AuditEntry).where(AuditEntry.action == "supplier")).one()
        assert (audited.record_key, audited.to_value, audited.note) == (
            key,
            "Acme Networks",
            "AC-77",
        )
    thread = [
        c.args["text"] for c in fake_slack.calls("chat.postMessage") if c.args.get("thread_ts")
    ]
    assert any("Waiting on Acme Networks, their ticket AC-77." in t for t in thread)
    # Named in the form: the sweep neither names another nor asks.
    sweep_relationships(db=ctx.db, clock=ctx.clock, policy=policy)
    with database.session() as s:
        assert s.exec(select(Notification).where(Notification.stage == "which")).all() == []
    slack.command("/supplier", "show Acme Networks", user_id=AGENT)
    assert key in str(fake_slack.calls("response_url")[-1].args["blocks"])


def test_a_service_nobody_supports_offers_every_supplier_and_no_choice_asks_by_dm(
    ctx, slack, fake_slack, database, policy
):
    key, _ = logged(slack, fake_slack, database, "wiki")
    view = hold_form(slack, fake_slack, database, key)
    assert offered(view) == ["Acme Networks", "Globex"]
    result = slack.submit(view, {"hold_reason": "supplier"}, user_id=AGENT)
    assert result.status == 200 and not result.body
    sweep_relationships(db=ctx.db, clock=ctx.clock, policy=policy)
    with database.session() as s:
        assert s.exec(select(SupplierWait)).all() == []
        asked = s.exec(select(Notification).where(Notification.stage == "which")).one()
    assert (asked.record_key, asked.recipient) == (key, AGENT)


def test_forged_and_bad_choices_are_refused_and_nothing_changes(
    slack, fake_slack, database, policy
):
    key, _ = logged(slack, fake_slack, database, "vpn")
    view = hold_form(slack, fake_slack, database, key)
    cases = [
        ({"hold_reason": "supplier", "supplier": "Globex"}, "supplier", "not a supplier of"),
        ({"hold_reason": "customer", "supplier": "Acme Networks"}, "supplier", "only when"),
        ({"hold_reason": "supplier", "ticket_ref": "T-1"}, "supplier", "whose ticket"),
        (
            {"hold_reason": "supplier", "supplier": "Acme Networks", "ticket_ref": "t" * 100_000},
            "ticket_ref",
            "under 120",
        ),
    ]
    for answers, field, words in cases:
        # The element offers only the shown choices; a forger sends others anyway.
        values = {
            "hold_reason": {
                "hold_reason": {
                    "type": "static_select",
                    "selected_option": {"value": answers["hold_reason"]},
                }
            },
            "supplier": {
                "supplier": {
                    "type": "static_select",
                    "selected_option": (
                        {"value": answers["supplier"]} if "supplier" in answers else None
                    ),
                }
            },
            "ticket_ref": {
                "ticket_ref": {"type": "plain_text_input", "value": answers.get("ticket_ref")}
            },
            "note": {"note": {"type": "plain_text_input", "value": None}},
        }
        result = slack.submit(view, values=values, user_id=AGENT)
        assert words in result.body["errors"].get(field, ""), (answers, result.body)
    stranger = slack.submit(
        view, {"hold_reason": "supplier", "supplier": "Acme Networks"}, user_id="U0STRANGER"
    )
    assert "Refused, because" in str(stranger.body["errors"])
    with database.session() as s:
        assert incidents.get(s, key=key).status == "in_progress"
        assert s.exec(select(SupplierWait)).all() == []


def test_a_hostile_ticket_reference_stays_text(slack, fake_slack, database, policy):
    key, _ = logged(slack, fake_slack, database, "vpn")
    view = hold_form(slack, fake_slack, database, key)
    slack.submit(
        view,
        {"hold_reason": "supplier", "supplier": "Acme Networks", "ticket_ref": HOSTILE_SHORT},
        user_id=AGENT,
    )
    slack.command("/supplier", "show Acme Networks", user_id=AGENT)
    for call in fake_slack.calls("chat.postMessage") + fake_slack.calls("chat.update"):
        assert_no_markup(str(call.args.get("text")), "text")
        assert_no_markup(str(call.args.get("blocks") or ""), "blocks")
    assert_no_markup(str(fake_slack.calls("response_url")[-1].args), "show")
