"""`/incident service INC-n <service|none> <why>`: an incident moved to another service after
it was logged runs on the covering agreement's targets, and the move is audited (service and
agreement, from and to, with the reason); through the real Bolt App."""

from __future__ import annotations

from sqlmodel import select

from models.audit import AuditEntry
from models.incident import Incident
from models.sla_timer import SlaTimer
from tests.handlers.test_incident_flow import log_incident


def _answers(fake_slack) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.args.get("text", "") for c in fake_slack.calls("response_url")]


def _state(database):  # type: ignore[no-untyped-def]
    with database.session() as session:
        incident = session.exec(select(Incident)).one()
        timers = {
            t.target: t.target_seconds
            for t in session.exec(select(SlaTimer).where(SlaTimer.record_key == incident.key))
        }
        trail = [
            (a.action, a.field, a.from_value, a.to_value, a.note)
            for a in session.exec(
                select(AuditEntry)
                .where(AuditEntry.record_key == incident.key)
                .where(AuditEntry.action.in_(["service changed", "agreement changed"]))  # type: ignore[attr-defined]
                .order_by(AuditEntry.id)  # type: ignore[arg-type]
            )
        ]
        return incident, timers, trail


def test_moving_service_moves_the_agreement_and_its_deadlines(slack, fake_slack, database):  # type: ignore[no-untyped-def]
    log_incident(slack, fake_slack, service="payments")  # P1 under Gold: 5m / 1h
    incident, timers, _ = _state(database)
    assert (incident.agreement, timers) == ("Gold", {"response": 300, "resolution": 3600})
    slack.command("/incident", "service INC-1 vpn Customer meant the VPN", user_id="U0AGENT1")
    incident, timers, trail = _state(database)
    # Silver covers vpn but sets no P1 terms: the global P1 targets, 15m / 4h.
    assert (incident.service, incident.agreement) == ("vpn", "Silver")
    assert timers == {"response": 900, "resolution": 14400}
    assert trail == [
        ("service changed", "service", "payments", "vpn", "Customer meant the VPN"),
        (
            "agreement changed",
            "agreement",
            "Gold",
            "Silver",
            "service payments → vpn: Customer meant the VPN",
        ),
    ]
    answer = _answers(fake_slack)[-1]
    assert "moved INC-1 from service payments to vpn" in answer
    assert "now falls under agreement Silver (was Gold)" in answer
    message = fake_slack.message(incident.channel_id, incident.message_ts)
    assert "agreement Silver" in str(message["blocks"])
    thread = [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("thread_ts") == incident.message_ts
    ]
    assert any("moved INC-1 from service payments to vpn" in t for t in thread)
    slack.command("/incident", "service INC-1 none Not a service problem", user_id="U0AGENT1")
    incident, timers, trail = _state(database)
    assert (incident.service, incident.agreement) == (None, None)
    assert trail[-1][:4] == ("agreement changed", "agreement", "Silver", None)


def test_refusals_and_bad_input_get_clear_answers(slack, fake_slack, database):  # type: ignore[no-untyped-def]
    log_incident(slack, fake_slack, service="payments")
    slack.command("/incident", "service INC-1 vpn because", user_id="U0OUTSIDER")
    assert _answers(fake_slack)[-1].startswith("Refused, because")
    slack.command("/incident", "service INC-1 <!channel> because", user_id="U0AGENT1")
    assert "`&lt;!channel&gt;` is not a service" in _answers(fake_slack)[-1]
    slack.command("/incident", "service INC-1 vpn", user_id="U0AGENT1")
    assert _answers(fake_slack)[-1] == "Use `/incident service INC-12 <service|none> <why>`."
    slack.command("/incident", "service INC-1 payments still payments", user_id="U0AGENT1")
    assert _answers(fake_slack)[-1] == "INC-1 is already on payments."
    slack.command("/incident", "service INC-99 vpn why", user_id="U0AGENT1")
    assert "INC-99" in _answers(fake_slack)[-1]
    result = slack.command("/incident", "service INC-1 vpn " + "x" * 600, user_id="U0AGENT1")
    assert "takes at most 500. Nothing was done" in result.body["text"]
    incident, _, trail = _state(database)
    assert (incident.service, incident.agreement, trail) == ("payments", "Gold", [])
