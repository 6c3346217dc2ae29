"""An incident or request on a covered service runs on its agreement's targets, and says so."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.policy import parse_policy
from models.incident import Incident
from models.service_request import ServiceRequest
from models.sla_timer import SlaTimer
from services import requests
from tests.agreements.conftest import AGREEMENT_POLICY, acknowledge, log
from tests.handlers.test_incident_flow import log_incident


def _timers(database, key: str) -> dict[str, tuple[int, str]]:
    with database.session() as session:
        rows = session.exec(select(SlaTimer).where(SlaTimer.record_key == key)).all()
        return {row.target: (row.target_seconds, row.calendar) for row in rows}


def test_a_covered_incident_gets_the_agreements_deadlines_and_shows_it(slack, fake_slack, database):
    log_incident(slack, fake_slack, service="payments")  # high × high: P1
    log_incident(slack, fake_slack, service="vpn", title="VPN drops")  # P1, Silver has no P1
    log_incident(slack, fake_slack, service="wiki", title="Wiki down")  # no agreement
    with database.session() as session:
        first, second, third = session.exec(select(Incident).order_by(Incident.id)).all()
    assert (first.priority, first.agreement) == (1, "Gold")
    # Under Silver, whose P1 terms are the global ones.
    assert (second.priority, second.agreement) == (1, "Silver")
    assert (third.priority, third.agreement) == (1, None)
    # Gold: 5m / 1h; the global P1 targets are 15m / 4h.
    assert _timers(database, "INC-1") == {"response": (300, "24x7"), "resolution": (3600, "24x7")}
    assert _timers(database, "INC-2") == {"response": (900, "24x7"), "resolution": (14400, "24x7")}
    message = fake_slack.message(first.channel_id, first.message_ts)
    assert "agreement Gold" in str(message["blocks"])
    assert "agreement" not in str(fake_slack.message(third.channel_id, third.message_ts))
    slack.command("/incident", "show INC-1", user_id="U0AGENT1")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "agreement Gold" in shown


def test_shown_deadline_follows_the_agreement(database, clock, policy):
    key = log(database, clock, policy, service="vpn")  # high × medium: P2, Silver 2h / 1d
    from services import incident_sla

    with database.session() as session:
        incident = session.exec(select(Incident)).one()
        sla = incident_sla.evaluate(session, incident=incident, policy=policy, now=clock.now())
    assert sla.response.due_at == clock.now() + timedelta(hours=2)
    assert sla.resolution.due_at == clock.now() + timedelta(days=1)
    assert _timers(database, key) == {"response": (7200, "24x7"), "resolution": (86400, "24x7")}
    clock.advance(minutes=10)
    acknowledge(database, clock, policy, key)
    with database.session() as session:
        assert session.exec(select(Incident)).one().agreement == "Silver"


def test_a_request_on_a_covered_service_gets_the_agreements_fulfilment_target(
    slack, fake_slack, database, clock, policy
):
    with database.session() as session:
        notify, _ = requests.submit(
            session,
            item_id="refund",
            answers={},
            requester="U0REQ",
            now=clock.now(),
            policy=policy,
        )
        key = notify.request.key
    with database.session() as session:
        request = session.exec(select(ServiceRequest)).one()
    assert (request.service, request.agreement) == ("payments", "Gold")
    # Gold sets fulfilment (1d) and leaves response to the catalog item (4h).
    assert (request.response_target_s, request.fulfilment_target_s) == (4 * 3600, 86400)
    assert _timers(database, key)["resolution"][0] == 86400
    from handlers.requests import render

    team_message = str(render.fulfilment_blocks(request, policy.catalog.item("refund")))
    assert "Service payments · agreement Gold" in team_message
    slack.command("/request", f"show {key}", user_id="U0REQ")
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "*Agreement*\\nGold" in shown and "*Service*\\npayments" in shown


def test_escaping_agreement_names(slack, fake_slack, database, clock):
    policy = parse_policy(AGREEMENT_POLICY.replace('name = "Gold"', 'name = "<!here> & Co"'))
    key = log(database, clock, policy, service="payments")
    with database.session() as session:
        assert session.exec(select(Incident)).one().agreement == "<!here> & Co"
    from handlers.incidents import render

    with database.session() as session:
        incident = session.exec(select(Incident)).one()
    text = str(render.message_blocks(incident, None))
    assert "agreement &lt;!here&gt; &amp; Co" in text and "<!here>" not in text
    assert key == "INC-1"
