"""A crash or a slow Slack never leaves a record unannounced or its message behind its state:
claims with a lease taken over by the announce sweep, refreshes kept until a rendering of the
latest state reached Slack, and refreshes of one record serialised across processes."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError

from bot.db import Database
from composition import hooks_for
from handlers.common import TAKEN_OVER_NOTE
from handlers.incidents.messages import IncidentMessages
from models.incident import HoldReason, IncidentInput, Level
from schedules.scheduler import announce_missed, refresh_stale
from services import incidents, records, releases
from services.permissions import Actor, Role
from tests.conftest import InlineExecutor

AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))


def _incident(ctx, *, reporter: str = "U0REPORTER", title: str = "Payments are down") -> str:
    data = IncidentInput(title=title, impact=Level.MEDIUM, urgency=Level.MEDIUM, service="payments")
    with ctx.db.session() as session:
        incident, _ = incidents.create(
            session, data=data, reporter=reporter, now=ctx.clock.now(), policy=ctx.policy
        )
        return incident.key


def _message(fake_slack, ctx, key: str) -> dict:
    with ctx.db.session() as session:
        incident = incidents.get(session, key=key)
    assert incident.message_ts, f"{key} has no message"
    return fake_slack.message(incident.channel_id, incident.message_ts)


def test_a_claim_left_by_a_dead_process_is_taken_over_after_the_lease(ctx, fake_slack, clock):
    key = _incident(ctx)
    # The process claims the announcement, then dies (kill -9) before storing a ts.
    with ctx.db.session() as session:
        assert incidents.claim_announcement(
            session, key=key, channel_id="C0INCIDENTS", now=clock.now(), owner="dead:1"
        )
    hooks = hooks_for(ctx)
    clock.advance(timedelta(seconds=90))
    # Inside the lease the claim is the live poster's: nothing is posted twice.
    assert announce_missed(db=ctx.db, clock=clock, hooks=hooks) == []
    assert fake_slack.calls("chat.postMessage") == []

    clock.advance(records.CLAIM_LEASE)
    assert announce_missed(db=ctx.db, clock=clock, hooks=hooks) == [key]

    message = _message(fake_slack, ctx, key)
    assert "Payments are down" in str(message["blocks"])
    thread = [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("thread_ts") == message["ts"]
    ]
    assert TAKEN_OVER_NOTE in thread
    assert "announced twice after a restart" in TAKEN_OVER_NOTE
    # Once announced it is done: the next sweep leaves it alone.
    clock.advance(records.CLAIM_LEASE * 2)
    assert announce_missed(db=ctx.db, clock=clock, hooks=hooks) == []


def test_a_fresh_claim_is_not_reported_as_a_takeover(ctx, fake_slack):
    key = _incident(ctx)
    IncidentMessages(ctx).announce(key)
    texts = [c.args["text"] for c in fake_slack.calls("chat.postMessage")]
    assert TAKEN_OVER_NOTE not in texts
    # A second announce (a second delivery) finds the claim completed: nothing more is posted.
    count = len(fake_slack.calls("chat.postMessage"))
    IncidentMessages(ctx).announce(key)
    assert len(fake_slack.calls("chat.postMessage")) == count


def test_a_release_claimed_by_a_dead_process_is_announced_by_the_sweep(ctx, fake_slack, clock):
    # The same claim and lease serve every kind with a channel message.
    with ctx.db.session() as session:
        key = releases.create(
            session,
            name="Payments",
            version="2.0",
            change_keys=[],
            release_manager="U0AGENT1",
            release_plan="Roll out",
            backout_plan="Roll back",
            actor=AGENT,
            now=clock.now(),
        ).key
        assert releases.claim_announcement(
            session, key=key, channel_id="C0CHANGES", now=clock.now(), owner="dead:2"
        )
    clock.advance(records.CLAIM_LEASE + timedelta(seconds=1))
    assert announce_missed(db=ctx.db, clock=clock, hooks=hooks_for(ctx)) == [key]
    with ctx.db.session() as session:
        release = releases.get(session, key=key)
    assert release.message_ts
    thread = [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("thread_ts") == release.message_ts
    ]
    assert TAKEN_OVER_NOTE in thread


def test_a_refresh_lost_while_the_ts_was_unknown_is_applied_once_it_is_known(
    ctx, fake_slack, clock
):
    key = _incident(ctx)
    with ctx.db.session() as session:
        assert incidents.claim_announcement(
            session, key=key, channel_id="C0INCIDENTS", now=clock.now(), owner="slow:1"
        )
    # Acknowledged while the post is still out: the refresh has no ts to update.
    with ctx.db.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=ctx.policy)
    assert IncidentMessages(ctx).refresh(key) == (None, None)
    with ctx.db.session() as session:
        assert incidents.KIND.is_stale(session, key=key)
        # Still no ts: the stale sweep has nothing it could update yet.
        assert incidents.KIND.stale_messages(session) == []
    # The post answered; the process died before refreshing. The sweep does it.
    posted = ctx.client.chat_postMessage(channel="C0INCIDENTS", text="INC (first rendering)")
    with ctx.db.session() as session:
        assert incidents.record_message(
            session, key=key, channel_id=posted["channel"], ts=posted["ts"], rendered_version=0
        ).stale
    assert refresh_stale(db=ctx.db, hooks=hooks_for(ctx)) == [key]
    assert "In progress" in str(_message(fake_slack, ctx, key)["blocks"])
    with ctx.db.session() as session:
        assert not incidents.KIND.is_stale(session, key=key)
    assert refresh_stale(db=ctx.db, hooks=hooks_for(ctx)) == []


def test_a_failed_update_stays_stale_until_the_sweep_succeeds(ctx, fake_slack, clock):
    key = _incident(ctx)
    IncidentMessages(ctx).announce(key)
    with ctx.db.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=ctx.policy)
    fake_slack.fail_next("chat.update", status=400, body={"ok": False, "error": "fatal_error"})
    with pytest.raises(SlackApiError, match="fatal_error"):
        IncidentMessages(ctx).refresh(key)
    assert "In progress" not in str(_message(fake_slack, ctx, key)["blocks"])
    assert refresh_stale(db=ctx.db, hooks=hooks_for(ctx)) == [key]
    assert "In progress" in str(_message(fake_slack, ctx, key)["blocks"])


@pytest.fixture
def replica(ctx, settings, policy, clock, database):  # type: ignore[no-untyped-def]
    """A second bot process on the same database: its own engine, pool and Slack client."""
    from bot.app_factory import build_context

    other = Database.from_url(str(database.engine.url.render_as_string(hide_password=False)))
    yield build_context(settings, policy, other, clock=clock, background=InlineExecutor())
    other.dispose()


def test_two_replicas_refreshing_one_record_update_it_in_state_order(
    ctx, replica, fake_slack, clock
):
    key = _incident(ctx)
    IncidentMessages(ctx).announce(key)
    updates_before = len(fake_slack.calls("chat.update"))
    # Replica A's update is slow to reach Slack; meanwhile replica B changes the record again.
    fake_slack.delay("chat.update", 1.0, count=1)

    def replica_a() -> None:
        with ctx.db.session() as session:
            incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=ctx.policy)
        IncidentMessages(ctx).refresh(key)

    a = threading.Thread(target=replica_a)
    a.start()
    try:
        fake_slack.wait_for("chat.update", count=updates_before + 1, timeout=10)
        with replica.db.session() as session:
            incidents.hold(
                session,
                key=key,
                reason=HoldReason.CUSTOMER,
                note="waiting for the customer",
                actor=AGENT,
                now=clock.now(),
                policy=replica.policy,
            )
        IncidentMessages(replica).refresh(key)
    finally:
        a.join(timeout=20)
    updates = fake_slack.calls("chat.update")[updates_before:]
    assert len(updates) == 2
    # The last update Slack applied renders the latest state, not A's older one.
    assert "On hold" in str(_message(fake_slack, ctx, key)["blocks"])
    assert "On hold" in str(updates[-1].args["blocks"])


def test_a_change_to_a_record_marks_its_message_stale_in_the_same_transaction(ctx, clock):
    key = _incident(ctx)
    with ctx.db.session() as session:
        before = incidents.get(session, key=key).message_version
        incidents.KIND.mark_rendered(session, key=key, version=before)
    with ctx.db.session() as session:
        assert not incidents.KIND.is_stale(session, key=key)
    # A transaction that rolls back leaves the message current.
    with pytest.raises(RuntimeError, match="crash before commit"), ctx.db.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=ctx.policy)
        raise RuntimeError("crash before commit")
    with ctx.db.session() as session:
        assert not incidents.KIND.is_stale(session, key=key)
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=ctx.policy)
    with ctx.db.session() as session:
        assert incidents.get(session, key=key).message_version > before
        assert incidents.KIND.is_stale(session, key=key)


def test_no_reporter_message_for_an_incident_the_bot_opened(ctx, fake_slack):
    from services.permissions import SYSTEM

    key = _incident(ctx, reporter=SYSTEM.user_id, title="https://status.example is failing")
    IncidentMessages(ctx).announce(key)
    channels = [c.args["channel"] for c in fake_slack.calls("chat.postMessage")]
    assert "C0INCIDENTS" in channels
    assert SYSTEM.user_id not in channels
    assert not any("You logged" in c.args["text"] for c in fake_slack.calls("chat.postMessage"))

    person = _incident(ctx, reporter="U0REPORTER")
    IncidentMessages(ctx).announce(person)
    told = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "U0REPORTER"]
    assert told and told[0].args["text"].startswith(f"You logged {person}")


def test_a_claim_made_before_claims_had_a_time_is_taken_over(ctx, fake_slack, clock):
    # Rows claimed by an older version (channel set, no ts, no claimed_at) were stuck for ever.
    from sqlalchemy import update

    from models.incident import Incident

    key = _incident(ctx)
    with ctx.db.session() as session:
        session.execute(
            update(Incident)
            .where(Incident.id == incidents.parse_key(key))
            .values(channel_id="C0INCIDENTS")
        )
    clock.advance(timedelta(minutes=2))
    assert announce_missed(db=ctx.db, clock=clock, hooks=hooks_for(ctx)) == [key]
    assert _message(fake_slack, ctx, key)


def test_a_poster_overtaken_after_its_lease_does_not_replace_the_kept_message(ctx, clock):
    key = _incident(ctx)
    with ctx.db.session() as session:
        slow = incidents.claim_announcement(
            session, key=key, channel_id="C0INCIDENTS", now=clock.now(), owner="slow:1"
        )
    clock.advance(records.CLAIM_LEASE + timedelta(seconds=1))
    with ctx.db.session() as session:
        second = incidents.claim_announcement(
            session, key=key, channel_id="C0INCIDENTS", now=clock.now(), owner="sweep:2"
        )
        assert second is not None and second.taken_over
        assert incidents.record_message(
            session, key=key, channel_id="C0INCIDENTS", ts="2.0", claim=second
        ).kept
        # The slow first poster finally hears back from Slack: its message is not the one kept.
        late = incidents.record_message(
            session, key=key, channel_id="C0INCIDENTS", ts="1.0", claim=slow
        )
        assert not late.kept
        assert incidents.get(session, key=key).message_ts == "2.0"


def test_a_message_deleted_in_slack_is_not_refreshed_for_ever(ctx, fake_slack, clock):
    key = _incident(ctx)
    IncidentMessages(ctx).announce(key)
    with ctx.db.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=ctx.policy)
    fake_slack.fail_next(
        "chat.update", status=200, body={"ok": False, "error": "message_not_found"}
    )
    assert refresh_stale(db=ctx.db, hooks=hooks_for(ctx)) == [key]
    with ctx.db.session() as session:
        assert not incidents.KIND.is_stale(session, key=key)
    assert refresh_stale(db=ctx.db, hooks=hooks_for(ctx)) == []
