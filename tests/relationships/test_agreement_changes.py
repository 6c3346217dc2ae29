"""Changes to a customer's requirements or agreement, agreed in a service review, raised from
the review as a change of type "agreement" (issue 12): through signed requests and the real
Bolt App, with its approvals, the link back to the review, refusals and two forms at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.policy import parse_policy
from models.change import Change
from models.relationship import PartyKind
from services import agreement_changes, agreement_reviews, change_approvals, changes, links
from services import relationship_reviews as reviews
from services.permissions import Actor
from tests.handlers.hostile import HOSTILE_SHORT, assert_no_markup
from tests.relationships.conftest import OWNER, RELATIONSHIP_POLICY

POLICY = (
    RELATIONSHIP_POLICY.replace(
        'owner = "U0RELOWNER"\nreview_every = "quarterly"',
        'owner = "U0RELOWNER"\nagreements = ["Gold"]\nreview_every = "quarterly"',
    )
    + """
[[agreements]]
name = "Gold"
customer = "Retail"
services = ["payments"]
owner = "U0GOLDOWNER"
review_every = "quarterly"
"""
)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(POLICY)


def customer_review(database, clock, policy, outcome: str = "Refunds within 2 days") -> str:  # type: ignore[no-untyped-def]
    with database.session() as s:
        review = reviews.record_review(
            s,
            kind=PartyKind.CUSTOMER,
            name="Retail",
            reviewed_on=clock.now().date(),
            attendees=[],
            outcome=outcome,
            actions=[],
            actor=Actor(OWNER),
            now=clock.now(),
            policy=policy,
        )
        return agreement_changes.customer_review_key(review)


def show_retail(slack, fake_slack) -> dict:  # type: ignore[no-untyped-def]
    slack.command("/customer", "show Retail", user_id=OWNER)
    return fake_slack.calls("response_url")[-1].args


def raise_form(slack, fake_slack, key: str, user: str = OWNER):  # type: ignore[no-untyped-def]
    message = {
        "type": "message",
        "ts": "1700000000.000100",
        "blocks": [
            {
                "type": "actions",
                "block_id": "agreement_change",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "agreement_change_raise",
                        "value": f'{{"key": "{key}"}}',
                        "text": {"type": "plain_text", "text": "Raise"},
                    }
                ],
            }
        ],
    }
    opened = len(fake_slack.calls("views.open"))
    slack.click(message, "agreement_change_raise", user_id=user, channel_id="DOWNER")
    if len(fake_slack.calls("views.open")) == opened:
        return None
    call = fake_slack.calls("views.open")[-1]
    return fake_slack.view(call.response["view"]["id"])


# (The stand-in does not send a form's prefilled values back; Slack would.)
ANSWERS = {
    "title": "Agreement change for Retail",
    "description": "Refund target 2 days",
    "risk": "low",
    "backout_plan": "Restore the old terms",
    "agreement": "Gold",
}


def test_a_customer_review_raises_an_agreement_change_that_links_back(
    slack, fake_slack, database, clock, policy
):
    key = customer_review(database, clock, policy)
    shown = show_retail(slack, fake_slack)
    assert "agreement_change_raise" in str(shown["blocks"]) and key in str(shown["blocks"])

    view = raise_form(slack, fake_slack, key)
    assert view is not None and "Refunds within 2 days" in str(view["blocks"])
    result = slack.submit(view, ANSWERS, user_id=OWNER)
    assert result.status == 200 and not result.body, result.body
    with database.session() as s:
        change = changes.get(s, key="CHG-1")
        assert (change.type, change.status, change.requester) == ("agreement", "new", OWNER)
        assert change.title == "Agreement change for Retail"
        assert f"({key})" in change.description and "Agreement: Gold" in change.description
        assert "Refund target 2 days" in change.description
        assert changes.targets(s, key="CHG-1") == ["payments"]
        assert links.linked(s, key=key, kind="raised_from") == ["CHG-1"]
        assert agreement_changes.raised_from(s, key=key) == "CHG-1"
        assert change.channel_id and change.message_ts  # announced in the changes channel
    assert "CHG-1" in str(show_retail(slack, fake_slack)["blocks"])

    # Change management as usual: assessed, scheduled, submitted, approved.
    with database.session() as s:
        change = changes.get(s, key="CHG-1", for_update=True)
        change.planned_start = clock.now() + timedelta(days=2)
        change.planned_end = clock.now() + timedelta(days=2, hours=1)
        changes.assess(s, key="CHG-1", actor=Actor(OWNER), now=clock.now())
        asked = change_approvals.submit_for_approval(
            s, key="CHG-1", actor=Actor(OWNER), now=clock.now(), policy=policy
        )
        assert asked.quorum == 1
        tally = change_approvals.decide(
            s,
            key="CHG-1",
            approver="U0APPROVER1",
            approver_groups=set(),
            decision="approve",
            reason=None,
            now=clock.now(),
            policy=policy,
        )
        assert tally.outcome == "approved"

    # Once per review: the button now says which change was raised.
    assert raise_form(slack, fake_slack, key) is None
    assert "CHG-1 was already raised" in fake_slack.calls("response_url")[-1].args["text"]


def test_an_agreement_review_with_changes_agreed_offers_the_button(
    slack, fake_slack, database, clock, policy
):
    with database.session() as s:
        review = agreement_reviews.record_review(
            s,
            name="Gold",
            actor=Actor("U0GOLDOWNER"),
            reviewed_on=clock.now().date(),
            outcome="changes agreed",
            note="Add Saturday cover",
            now=clock.now(),
            policy=policy,
        )
        key = agreement_changes.agreement_review_key(review)
    view = raise_form(slack, fake_slack, key, user="U0GOLDOWNER")
    assert view is not None and "Add Saturday cover" in str(view["blocks"])
    result = slack.submit(view, ANSWERS, user_id="U0GOLDOWNER")
    assert result.status == 200 and not result.body, result.body
    with database.session() as s:
        assert links.linked(s, key=key, kind="raised_from") == ["CHG-1"]


def test_strangers_forgers_and_bad_keys_are_refused(slack, fake_slack, database, clock, policy):
    key = customer_review(database, clock, policy)
    assert raise_form(slack, fake_slack, key, user="U0STRANGER") is None
    assert fake_slack.calls("response_url")[-1].args["text"].startswith("Refused, because only")
    view = raise_form(slack, fake_slack, key)
    forged = slack.submit(view, ANSWERS, user_id="U0STRANGER")
    assert "Refused, because" in str(forged.body["errors"])
    empty = slack.submit(view, {**ANSWERS, "description": " "}, user_id=OWNER)
    assert "Say what is to change" in str(empty.body["errors"])
    for bad in ("CRV-99", "CRV-1x", "INC-1", "CRV-" + "9" * 30):
        assert raise_form(slack, fake_slack, bad) is None
        assert "review is unknown" in fake_slack.calls("response_url")[-1].args["text"]
    with database.session() as s:
        assert s.exec(select(Change)).all() == []


def test_two_forms_submitted_at_once_raise_one_change(slack, fake_slack, database, clock, policy):
    key = customer_review(database, clock, policy)
    one = raise_form(slack, fake_slack, key)
    two = raise_form(slack, fake_slack, key, user="U0AGENT1")
    barrier = threading.Barrier(2)
    bodies = []

    def submit(view, user):  # type: ignore[no-untyped-def]
        barrier.wait()
        bodies.append(slack.submit(view, ANSWERS, user_id=user).body)

    threads = [
        threading.Thread(target=submit, args=(one, OWNER)),
        threading.Thread(target=submit, args=(two, "U0AGENT1")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    refused = [b for b in bodies if b]
    assert len(refused) == 1 and "already raised" in str(refused[0]["errors"])
    with database.session() as s:
        assert len(s.exec(select(Change)).all()) == 1
    # The same form delivered twice gives the same change, not a refusal.
    again = slack.submit(one, ANSWERS, user_id=OWNER, retry_num=1)
    assert again.status == 200


def test_hostile_review_text_stays_text(slack, fake_slack, database, clock, policy):
    key = customer_review(database, clock, policy, outcome=HOSTILE_SHORT)
    view = raise_form(slack, fake_slack, key)
    slack.submit(view, {**ANSWERS, "title": HOSTILE_SHORT}, user_id=OWNER)
    assert_no_markup(str(show_retail(slack, fake_slack)["blocks"]), "customer show")
    for call in fake_slack.calls("chat.postMessage") + fake_slack.calls("chat.update"):
        assert_no_markup(str(call.args.get("text")), "text")
        assert_no_markup(str(call.args.get("blocks") or ""), "blocks")
