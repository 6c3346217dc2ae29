"""A major incident restricted after it was announced in the open: its own channel takes a
neutral name and topic and its summary is redacted, the bot's thread and channel posts show the
restricted placeholder, its review (PIR-n) is redacted and hidden from outsiders, and an
outsider attacking it learns nothing. Lifting the restriction puts everything back. Slack's
refusals (a name taken, the bot removed from the channel) are said in the incident's thread."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from models.major_incident import MajorIncident, PostIncidentReview
from models.thread_post import ThreadPost
from services import sla_sweep
from tests.security.conftest import (
    AGENT,
    INCIDENTS,
    SEC1,
    SECURITY_CHANNEL,
    STRANGER,
    incident,
    log,
)
from tests.security.test_attacker import _attack

TITLE = "Zyxqv vault keys leaked"
DESCRIPTION = "Qwpzr rotated the HSM partition"
UPDATE = "Wvkjx tokens revoked"
ACTION = "Jqxzv audit every vault"
SECRETS = ("Zyxqv", "zyxqv", "vault keys", "Qwpzr", "HSM partition", "Wvkjx", "Jqxzv")
AGENT2 = "U0AGENT2"  # an agent who never worked it
ESCALATIONS = "C0ESCALATE"


def _major(database) -> MajorIncident:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return session.exec(select(MajorIncident)).one()


def _review(database) -> PostIncidentReview:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return session.exec(select(PostIncidentReview)).one()


def _view(fake_slack) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])


def _message(fake_slack, database) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    found = incident(database)
    return fake_slack.message(found.channel_id, found.message_ts)


def _open_to_all(slack, fake_slack, database) -> None:  # type: ignore[no-untyped-def]
    """INC-1: a P1 on payments logged in the open, so declared major with a channel named from
    its title; AGENT acknowledges, posts a status update, resolves it and gives its review an
    action."""
    log(
        slack,
        fake_slack,
        title=TITLE,
        description=DESCRIPTION,
        impact="high",
        urgency="high",
        security=False,
    )
    major = _major(database)
    assert "zyxqv" in major.channel_name
    slack.click(_message(fake_slack, database), "incident_acknowledge", user_id=AGENT)
    summary = fake_slack.message(_major(database).channel_id, major.summary_ts)
    slack.click(summary, "incident_major_post_update", user_id=AGENT)
    done = slack.submit(
        _view(fake_slack), {"update_status": UPDATE, "update_impact": "payments"}, user_id=AGENT
    )
    assert done.status == 200 and not done.body
    slack.click(_message(fake_slack, database), "incident_resolve", user_id=AGENT)
    slack.submit(_view(fake_slack), {"resolution_code": "fixed", "note": "ok"}, user_id=AGENT)
    review = _review(database)
    assert review.channel_id == INCIDENTS
    slack.click(fake_slack.message(INCIDENTS, review.message_ts), "pir_add_action", user_id=AGENT)
    added = slack.submit(
        _view(fake_slack),
        {"action_text": ACTION, "action_owner": AGENT, "action_due": date(2026, 12, 30)},
        user_id=AGENT,
    )
    assert added.status == 200 and not added.body


def _visible_outside(fake_slack, database) -> str:  # type: ignore[no-untyped-def]
    """Everything an outsider can read in Slack: the incidents channel (messages and threads),
    the major incident's channel (its name, topic and messages)."""
    major = _major(database)
    channel = fake_slack.channel(major.channel_id)
    return json.dumps(
        [
            fake_slack.messages(INCIDENTS),
            fake_slack.messages(major.channel_id),
            channel["name"],
            channel["topic"],
        ]
    )


@pytest.fixture
def restricted_later(slack, fake_slack, database):  # type: ignore[no-untyped-def]
    _open_to_all(slack, fake_slack, database)
    shown = _visible_outside(fake_slack, database)
    assert all(secret in shown for secret in ("Zyxqv", "Wvkjx", "Jqxzv"))
    slack.command("/incident", "restrict INC-1 keys leaked", user_id=SEC1)
    assert incident(database).restricted


def test_restricting_redacts_its_channel_thread_posts_and_review(
    slack, fake_slack, database, restricted_later
):
    shown = _visible_outside(fake_slack, database)
    for secret in SECRETS:
        assert secret not in shown, secret
    major = _major(database)
    channel = fake_slack.channel(major.channel_id)
    assert channel["name"] == "inc-1-restricted-incident" == major.channel_name
    assert channel["topic"] == "Restricted incident INC-1"
    assert major.channel_redacted is True
    assert (
        "Restricted incident INC-1"
        in fake_slack.message(major.channel_id, major.summary_ts)["text"]
    )
    # The bot's posts were kept and now show the placeholder.
    with database.session() as session:
        kept = session.exec(select(ThreadPost).where(ThreadPost.channel_id != SECURITY_CHANNEL))
        assert {p.redacted for p in kept} == {True}
    # The work carries on in the security channel: the summary is in the incident's thread
    # there (with its controls while the incident runs).
    found = incident(database)
    assert found.channel_id == SECURITY_CHANNEL
    thread = [m for m in fake_slack.messages(SECURITY_CHANNEL) if m.get("thread_ts")]
    assert any(m["text"] == f"Major incident INC-1: {TITLE}" for m in thread)
    # The review's message redacts itself, and stays redacted when it is refreshed.
    review = _review(database)
    left = fake_slack.message(INCIDENTS, review.message_ts)
    assert "PIR-1" in left["text"] and "Restricted" in left["text"]


def test_lifting_the_restriction_restores_name_topic_summary_posts_and_review(
    slack, fake_slack, database, restricted_later
):
    slack.command("/incident", "unrestrict INC-1 contained", user_id=SEC1)
    major = _major(database)
    channel = fake_slack.channel(major.channel_id)
    assert channel["name"].startswith("inc-1-zyxqv-vault-keys-leaked")
    assert TITLE in channel["topic"]
    assert major.channel_redacted is False
    assert TITLE in json.dumps(fake_slack.message(major.channel_id, major.summary_ts))
    shown = _visible_outside(fake_slack, database)
    for secret in ("Zyxqv", "Wvkjx", "Jqxzv"):
        assert secret in shown, secret
    with database.session() as session:
        assert not session.exec(select(ThreadPost).where(ThreadPost.redacted)).all()


def test_a_name_clash_takes_the_next_name_and_a_refusal_is_said_in_its_thread(
    slack, fake_slack, database
):
    _open_to_all(slack, fake_slack, database)
    fake_slack.add_channel("inc-1-restricted-incident")
    slack.command("/incident", "restrict INC-1 keys leaked", user_id=SEC1)
    assert fake_slack.channel(_major(database).channel_id)["name"] == "inc-1-restricted-incident-2"

    slack.command("/incident", "unrestrict INC-1 contained", user_id=SEC1)
    fake_slack.remove_bot(_major(database).channel_id)
    answer = slack.command("/incident", "restrict INC-1 again", user_id=SEC1)
    assert answer.status == 200
    said = json.dumps(fake_slack.messages(SECURITY_CHANNEL))
    assert "Slack would not rename" in said and "not_in_channel" in said
    assert "Slack would not give" in said
    # The posts and summary are redacted all the same.
    for secret in SECRETS:
        assert secret not in json.dumps(fake_slack.messages(_major(database).channel_id)), secret


@pytest.mark.parametrize("attacker", [STRANGER, AGENT2])
def test_an_outsider_learns_nothing_from_its_channel_posts_or_review(
    slack, fake_slack, database, restricted_later, attacker
):
    major = _major(database)
    review = _review(database)
    opened = len(fake_slack.calls("views.open"))
    start = len(fake_slack.calls())
    # Every incident command, button, form and type-ahead, and the `/pir` ones (test_attacker).
    answers = _attack(slack, fake_slack, attacker, major.channel_id)

    assert all(a.status < 500 for a in answers)
    received = fake_slack.calls()[start:]
    sent = json.dumps([[c.method, c.args, c.response] for c in received], default=str)
    bodies = json.dumps([a.body for a in answers], default=str)
    for secret in SECRETS:
        assert secret not in sent, f"{secret!r} sent to Slack during the attack"
        assert secret not in bodies, f"{secret!r} in an HTTP answer"
    assert len(fake_slack.calls("views.open")) == opened
    answered = [
        json.dumps(c.args, ensure_ascii=False) for c in received if c.method == "response_url"
    ]
    assert any(":lock: *PIR-1* · Restricted" in text for text in answered)  # `/pir list`
    assert any("reviews a restricted incident" in text for text in answered)
    assert _review(database).updated_at == review.updated_at
    # Whatever the outsider can read in Slack still says nothing.
    shown = _visible_outside(fake_slack, database)
    for secret in SECRETS:
        assert secret not in shown, secret


def test_posts_slack_no_longer_has_are_skipped_and_refused_ones_are_counted(
    ctx, fake_slack, database
):
    from bot import thread_posts

    posted = [
        thread_posts.post(ctx, "INC-9", INCIDENTS, f"step {n} of {TITLE}", thread_ts="1.1")
        for n in range(3)
    ]
    thread_posts.post(ctx, "PRB-2", INCIDENTS, "a problem's own post is not kept")
    fake_slack.fail_next(
        "chat.update", status=200, body={"ok": False, "error": "cant_update_message"}
    )
    fake_slack.fail_next(
        "chat.update", status=200, body={"ok": False, "error": "message_not_found"}
    )
    assert thread_posts.redact(ctx, "INC-9", "Restricted incident INC-9", []) == (2, 1)
    assert TITLE in fake_slack.message(INCIDENTS, posted[0]["ts"])["text"]
    assert fake_slack.message(INCIDENTS, posted[2]["ts"])["text"] == "Restricted incident INC-9"
    # The refused one is tried again next time; the restored ones get their words back.
    assert thread_posts.redact(ctx, "INC-9", "Restricted incident INC-9", []) == (1, 0)
    assert thread_posts.restore(ctx, "INC-9") == (3, 0)
    assert fake_slack.message(INCIDENTS, posted[2]["ts"])["text"] == f"step 2 of {TITLE}"
    with database.session() as session:
        assert {p.record_key for p in session.exec(select(ThreadPost))} == {"INC-9"}


def test_a_missed_update_of_a_restricted_major_incident_goes_to_the_security_team_then_back(
    slack, fake_slack, database
):
    from models.notification import Notification

    log(slack, fake_slack, title=TITLE, impact="high", urgency="high", security=False)
    slack.click(_message(fake_slack, database), "incident_acknowledge", user_id=AGENT)

    def missed() -> set[str]:
        with database.session() as session:
            rows = session.exec(
                select(Notification).where(
                    Notification.stage.like("%missed-update%"),  # type: ignore[attr-defined]
                    Notification.status == "pending",
                )
            )
            return {row.recipient for row in rows}

    assert missed() == {"U0LEAD"}
    slack.command("/incident", "restrict INC-1 keys leaked", user_id=SEC1)
    assert missed() == {"S0SECURITY"}
    # Released again: the team lead's reminder is pending once more (not left cancelled).
    slack.command("/incident", "unrestrict INC-1 contained", user_id=SEC1)
    assert missed() == {"U0LEAD"}


def test_a_channel_restricted_from_the_start_takes_its_title_when_released(
    slack, fake_slack, database
):
    log(slack, fake_slack, title=TITLE, impact="high", urgency="high")
    channel = _major(database).channel_id
    assert fake_slack.channel(channel)["name"] == "inc-1-restricted-incident"
    slack.command("/incident", "unrestrict INC-1 not a security matter", user_id=SEC1)
    assert fake_slack.channel(channel)["name"] == "inc-1-zyxqv-vault-keys-leaked"
    assert TITLE in fake_slack.channel(channel)["topic"]
    renames = len(fake_slack.calls("conversations.rename"))
    slack.command("/incident", "restrict INC-1 it was after all", user_id=SEC1)
    assert fake_slack.channel(channel)["name"] == "inc-1-restricted-incident"
    assert len(fake_slack.calls("conversations.rename")) == renames + 1
    assert _major(database).channel_name == "inc-1-restricted-incident"


def test_sla_breaches_posted_before_the_restriction_are_redacted(
    slack, ctx, fake_slack, database, clock
):
    """The notifier keeps the channel posts it makes about an incident (a breach said in the
    escalations channel names the title), so restricting the incident later redacts them with
    the rest, and lifting the restriction puts the words back."""
    log(slack, fake_slack, title=TITLE, description=DESCRIPTION, security=False)
    clock.advance(timedelta(days=30))
    with database.session() as session:
        assert sla_sweep.sweep(session, now=clock.now(), policy=ctx.policy)
    ctx.notifier.send_due()

    def breaches() -> list[str]:
        return [m["text"] for m in fake_slack.messages(ESCALATIONS) if "target" in m["text"]]

    assert breaches() and all("Zyxqv" in text for text in breaches())
    slack.command("/incident", "restrict INC-1 keys leaked", user_id=SEC1)
    shown = json.dumps([fake_slack.messages(INCIDENTS), fake_slack.messages(ESCALATIONS)])
    for secret in SECRETS:
        assert secret not in shown, secret
    slack.command("/incident", "unrestrict INC-1 contained", user_id=SEC1)
    assert breaches() and all("Zyxqv" in text for text in breaches())
