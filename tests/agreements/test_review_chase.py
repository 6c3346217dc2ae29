"""An overdue agreement review is chased (the owner, every `chase_every`) and escalated
(`escalate_to`, once `escalate_after` overdue), through the outbox, each once; recording the
review stops both."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from bot.policy import PolicyError, parse_policy
from models.agreement import AgreementRecord
from services import agreement_reviews, notifications
from services.permissions import Actor
from tests.agreements.conftest import AGREEMENT_POLICY, OWNER

HEAD = "S0SLAHEADS"
CHASED = AGREEMENT_POLICY.replace(
    "next_review = 2026-12-20",
    f'next_review = 2026-11-20\nchase_every = "3d"\nescalate_after = "10d"\nescalate_to = "{HEAD}"',
)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(CHASED)


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def _sweep(database, clock, policy) -> int:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return agreement_reviews.sweep(session, now=clock.now(), policy=policy)


def _outbox(database) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        key = session.exec(select(AgreementRecord).where(AgreementRecord.name == "Gold")).one().key
        rows = notifications.for_record(session, record_key=key, kind="reminder")
        return sorted((row.stage, row.recipient, row.status) for row in rows)


def _dms(fake_slack, to: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] in (f"D{to}", to)
    ]


def test_overdue_review_is_chased_then_escalated_once_each(ctx, fake_slack, database, clock, policy):  # type: ignore[no-untyped-def]
    # 20 Nov review (09:00 UTC), now Fri 27 Nov 10:00: chases fell due on 23 and 26 Nov, before
    # they could be planned (the bot did not know of the agreement), so they are not sent; the
    # next, 29 Nov, is planned, as is the escalation on 30 Nov.
    _sweep(database, clock, policy)
    pending = [s for s in _outbox(database) if s[2] == "pending"]
    assert pending == [
        ("chase:3@20261129T090000Z", OWNER, "pending"),
        ("escalate@20261130T090000Z", HEAD, "pending"),
    ]
    clock.set(at(11, 29))
    for _ in range(2):
        _sweep(database, clock, policy)
        ctx.notifier.send_due()
    (chase,) = _dms(fake_slack, OWNER)
    assert "*Gold* with Retail &amp; Online was due on Fri 20 Nov 2026 and is 9 days" in chase
    fake_slack.set_usergroup(HEAD, ["U0HEAD"])
    clock.set(at(11, 30))
    for _ in range(3):
        _sweep(database, clock, policy)
        ctx.notifier.send_due()
    (escalation,) = _dms(fake_slack, "U0HEAD")  # each member of the group, by DM
    assert escalation.startswith(":rotating_light: Escalated to you")
    assert f"(owner <@{OWNER}>)" in escalation and "10 days overdue" in escalation
    assert ("chase:4@20261202T090000Z", OWNER, "pending") in _outbox(database)
    # Recording the review withdraws what is left and plans the next review's reminders.
    with database.session() as session:
        agreement_reviews.record_review(
            session,
            name="Gold",
            actor=Actor(OWNER, frozenset()),
            reviewed_on=date(2026, 11, 30),
            outcome="confirmed",
            note="Held late",
            now=clock.now(),
            policy=policy,
        )
    rows = _outbox(database)
    assert ("chase:4@20261202T090000Z", OWNER, "cancelled") in rows
    # Quarterly from 30 Nov: 28 Feb 2027; its escalation is planned too, withdrawn in turn
    # when that review is recorded in time.
    assert [s for s in rows if s[2] == "pending"] == [
        ("escalate@20270310T090000Z", HEAD, "pending"),
        ("review:14d@20270214T090000Z", OWNER, "pending"),
        ("review:1d@20270227T090000Z", OWNER, "pending"),
    ]
    clock.set(at(12, 3))
    _sweep(database, clock, policy)
    ctx.notifier.send_due()
    assert len(_dms(fake_slack, OWNER)) == 1


def test_escalation_needs_someone_to_escalate_to() -> None:
    with pytest.raises(PolicyError, match="escalate_after needs escalate_to"):
        parse_policy(CHASED.replace(f'escalate_to = "{HEAD}"', ""))
    with pytest.raises(PolicyError, match="chase_every takes whole days"):
        parse_policy(CHASED.replace('chase_every = "3d"', 'chase_every = "5h"'))
