"""A crash while a major incident's channel was being created is not the end of it: the
announce sweep finds a declared major incident whose channel was neither created nor refused
and, once the creator's two-minute claim has run out, creates it (once)."""

from __future__ import annotations

from datetime import timedelta

from composition import hooks_for
from schedules.scheduler import run_once
from services import major_incidents
from services.permissions import SYSTEM
from tests.major.conftest import log


def _major(database):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return major_incidents.get(session, key="INC-1")


def test_a_channel_whose_creator_died_is_created_by_the_sweep(
    slack, fake_slack, database, clock, ctx
):
    log(slack, fake_slack, impact="medium", urgency="medium")  # P3: not declared by the bot
    with database.session() as session:
        major_incidents.declare(
            session, key="INC-1", reason="", actor=SYSTEM, now=clock.now(), policy=ctx.policy
        )
        # A process claimed the creation and died before Slack answered.
        assert major_incidents.claim_channel(session, key="INC-1", now=clock.now())
    hooks = hooks_for(ctx)
    clock.advance(timedelta(minutes=1))
    run_once(db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks)
    assert not fake_slack.calls("conversations.create")  # its claim still runs
    clock.advance(timedelta(minutes=2))
    for _ in range(2):
        run_once(db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks)
    assert len(fake_slack.calls("conversations.create")) == 1
    major = _major(database)
    assert major.channel_id and major.summary_ts
    with database.session() as session:
        assert major_incidents.unopened(session, now=clock.now()) == []


def test_a_declared_incident_never_claimed_gets_its_channel_at_the_next_sweep(
    slack, fake_slack, database, clock, ctx
):
    log(slack, fake_slack, impact="medium", urgency="medium")
    with database.session() as session:
        major_incidents.declare(
            session, key="INC-1", reason="", actor=SYSTEM, now=clock.now(), policy=ctx.policy
        )
    run_once(
        db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks_for(ctx)
    )
    assert _major(database).channel_id is not None


def test_a_refused_channel_is_not_tried_again(slack, fake_slack, database, clock, ctx):
    fake_slack.fail_next(
        "conversations.create", status=200, body={"ok": False, "error": "missing_scope"}
    )
    log(slack, fake_slack)  # P1: declared, Slack refuses the channel
    assert _major(database).channel_error == "missing_scope"
    created = len(fake_slack.calls("conversations.create"))
    clock.advance(timedelta(minutes=5))
    run_once(
        db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks_for(ctx)
    )
    assert len(fake_slack.calls("conversations.create")) == created
