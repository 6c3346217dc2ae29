"""`/servicedesk sla`: the list, one agreement with its versions, reviews and hand-computed
attainment this month, and a clear answer for an unknown name."""

from __future__ import annotations

from bot.bootstrap import prepare_store
from bot.policy import parse_policy
from services import incidents
from tests.agreements.conftest import AGENT, AGREEMENT_POLICY, acknowledge, log, resolve


def _answer(fake_slack) -> str:
    return str(fake_slack.calls("response_url")[-1].args)


def test_the_list_and_an_unknown_name(slack, fake_slack):
    slack.command("/servicedesk", "sla", user_id="U0AGENT1")
    listing = fake_slack.calls("response_url")[-1].args["text"]
    assert "*Gold* with Retail &amp; Online: payments" in listing
    assert "*Silver* with Staff: vpn" in listing
    slack.command("/servicedesk", "sla Platinum", user_id="U0AGENT1")
    answer = fake_slack.calls("response_url")[-1].args["text"]
    assert answer == "There is no agreement called `Platinum`. Agreements: Gold, Silver."
    slack.command("/servicedesk", "sla <@U1>", user_id="U0AGENT1")
    assert "`&lt;@U1&gt;`" in fake_slack.calls("response_url")[-1].args["text"]


def test_attainment_this_month_computed_by_hand(slack, fake_slack, ctx, database, clock, policy):
    # Friday 27 November 2026, 10:00 UTC. Gold's P2 targets: response 30m, resolution 2h.
    one = log(database, clock, policy, service="payments")  # high × medium = P2
    two = log(database, clock, policy, service="payments", impact="medium", urgency="high")
    three = log(database, clock, policy, service="payments", impact="medium", urgency="high")
    log(database, clock, policy, service="vpn")  # not Gold's: left out
    mistake = log(database, clock, policy, service="payments", impact="medium", urgency="high")
    with database.session() as session:
        incidents.cancel(
            session, key=mistake, actor=AGENT, now=clock.now(), note="Duplicate", policy=policy
        )  # cancelled: left out
    clock.advance(minutes=20)
    acknowledge(database, clock, policy, one)  # response met (20m)
    clock.advance(minutes=20)
    acknowledge(database, clock, policy, two)  # 10:40: response breached (40m)
    clock.advance(minutes=50)
    resolve(database, clock, policy, one)  # 11:30: resolution met (1h30m); down 1h30m
    clock.advance(minutes=20)
    resolve(database, clock, policy, two)  # 11:50: resolution met (1h50m)
    clock.advance(minutes=55)
    four = log(database, clock, policy, service="payments", impact="medium", urgency="high")
    clock.advance(minutes=15)  # 13:00
    # three: never acknowledged, 3h in: both targets breached. four: 15m in, both running.
    assert four == "INC-6"
    slack.command("/servicedesk", "sla gold", user_id="U0AGENT1")
    shown = _answer(fake_slack)
    assert "since 01 Nov 2026): 4 incident(s)" in shown
    assert "Response met: 33.3 % (1 of 3 met)" in shown  # one met; two and three breached
    assert "Resolution met: 66.7 % (2 of 3 met)" in shown  # one and two met; three breached
    # 1 Nov 00:00 → 27 Nov 13:00 is 637h; one (high impact) was down 1.5h: 635.5 / 637.
    assert "Availability of payments: 99.765 % against 99.9 % :x:" in shown
    assert "version 1, recorded 2026-11-27 10:00 UTC" in shown
    assert "Reviews* — next: Sun 20 Dec 2026" in shown
    assert "agreement_record_review" in shown
    assert three == "INC-3"


def test_the_version_history_shows_what_changed(slack, fake_slack, ctx, database, clock):
    clock.advance(days=2)
    changed = parse_policy(
        AGREEMENT_POLICY.replace('customer = "Retail & Online"', 'customer = "Retail <EU>"')
    )
    prepare_store(database, changed, clock)
    slack.command("/servicedesk", "sla Gold", user_id="U0AGENT1")
    shown = _answer(fake_slack)
    assert "version 2, recorded 2026-11-29 10:00 UTC" in shown
    assert "customer: Retail &amp; Online → Retail &lt;EU&gt;" in shown
    assert shown.index("version 2") < shown.index("version 1")


def test_time_on_hold_does_not_count_against_attainment(
    slack, fake_slack, ctx, database, clock, policy
):
    from models.incident import HoldReason

    key = log(database, clock, policy, service="payments", impact="medium", urgency="high")  # P2
    clock.advance(minutes=10)
    acknowledge(database, clock, policy, key)
    clock.advance(minutes=20)
    with database.session() as session:
        incidents.hold(
            session,
            key=key,
            reason=HoldReason.CUSTOMER,
            note="Waiting for the customer",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
    clock.advance(hours=1)
    with database.session() as session:
        incidents.resume(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    clock.advance(minutes=60)
    resolve(database, clock, policy, key)  # 2h30m after logging, 1h of it on hold: 1h30m < 2h
    slack.command("/servicedesk", "sla Gold", user_id="U0AGENT1")
    shown = _answer(fake_slack)
    assert "Resolution met: 100.0 % (1 of 1 met)" in shown
    assert "Response met: 100.0 % (1 of 1 met)" in shown
