"""Late notifications: a notification sent later than its due time by more than the grace
(policy escalation.late_grace) is marked late on its outbox row when it is sent, shown as
"(late by …)" in /incident show and /request show, and counted in /servicedesk availability."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.policy import parse_policy
from models.incident import IncidentInput, Level
from services import incidents, notifications, requests
from tests.conftest import TEST_POLICY
from tests.handlers.issue5_support import EXTRA


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(TEST_POLICY + EXTRA + '\n[escalation]\nlate_grace = "30s"\n')


def _records(ctx) -> tuple[str, str]:
    with ctx.db.session() as session:
        incident, _ = incidents.create(
            session,
            data=IncidentInput(title="Mail is slow", impact=Level.LOW, urgency=Level.LOW),
            reporter="U0REPORTER",
            now=ctx.clock.now(),
            policy=ctx.policy,
        )
        notify, _ = requests.submit(
            session,
            item_id="laptop",
            answers={"model": "13 inch", "reason": "Broken"},
            requester="U0REQ",
            now=ctx.clock.now(),
            policy=ctx.policy,
        )
        return incident.key, notify.request.key


def _queue(ctx, key: str, stage: str) -> None:
    with ctx.db.session() as session:
        notifications.schedule(
            session,
            record_key=key,
            kind="sla",
            stage=stage,
            recipient="U0AGENT1",
            due_at=ctx.clock.now(),
            text=f"{key} {stage}",
        )


def _line(shown: str, stage: str) -> str:
    return next(line for line in shown.split("\\n") if f"sla {stage} " in line)


def test_sent_40_s_after_due_is_late_and_shown_5_s_after_is_not(slack, fake_slack, ctx, clock):
    incident, request = _records(ctx)
    # The bot is down when these fall due; it comes back 40 s later and sends them.
    _queue(ctx, incident, "breach")
    _queue(ctx, request, "response:100")
    clock.advance(seconds=40)
    ctx.notifier.send_due()
    # Up again: this one goes out 5 s after it fell due, within the grace.
    _queue(ctx, incident, "warning")
    clock.advance(seconds=5)
    ctx.notifier.send_due()

    with ctx.db.session() as session:
        rows = {r.stage: r for r in notifications.for_record(session, record_key=incident)}
        assert rows["breach"].late and rows["breach"].sent_at is not None
        assert notifications.late_by(rows["breach"]) == timedelta(seconds=40)
        assert not rows["warning"].late and notifications.late_by(rows["warning"]) is None

    slack.command("/incident", f"show {incident}", user_id="U0AGENT1")
    shown = str(fake_slack.calls("response_url")[-1].args["blocks"])
    assert "(late by 40s)" in _line(shown, "breach")
    assert "late" not in _line(shown, "warning") and "sent" in _line(shown, "warning")

    slack.command("/request", f"show {request}", user_id="U0REQ")
    shown = str(fake_slack.calls("response_url")[-1].args["blocks"])
    assert "*Notifications*" in shown
    assert "(late by 40s)" in _line(shown, "response:100")


def test_late_notifications_are_counted_in_the_availability_report(slack, fake_slack, ctx, clock):
    incident, request = _records(ctx)
    slack.command("/servicedesk", "availability 7d", user_id="U0ANYONE")
    assert "No notification was sent late" in str(fake_slack.calls("response_url")[-1].args)
    _queue(ctx, incident, "breach")
    _queue(ctx, request, "response:100")
    clock.advance(seconds=40)
    ctx.notifier.send_due()
    with ctx.db.session() as session:
        late = notifications.count_late(
            session, since=clock.now() - timedelta(days=7), until=clock.now()
        )
    # The two queued here, and the request's own messages queued at submission.
    assert late >= 2
    slack.command("/servicedesk", "availability 7d", user_id="U0ANYONE")
    shown = str(fake_slack.calls("response_url")[-1].args["blocks"])
    assert f"{late} notifications were sent late in the period" in shown
    # Outside the period they are not counted.
    with ctx.db.session() as session:
        assert (
            notifications.count_late(
                session, since=clock.now() + timedelta(seconds=1), until=clock.now() + timedelta(1)
            )
            == 0
        )


def test_the_default_grace_is_fifteen_seconds(database, clock):
    assert notifications.LATE_GRACE == timedelta(seconds=15)
    with database.session() as session:
        for stage in ("a", "b"):
            notifications.schedule(
                session,
                record_key="INC-1",
                kind="sla",
                stage=stage,
                recipient="U1",
                due_at=clock.now(),
                text=stage,
            )
    clock.advance(seconds=10)
    with database.session() as session:
        first, second = notifications.claim_due(session, now=clock.now())
        notifications.mark_sent(session, id=first.id, now=clock.now())
        # 40 s after its due time: a bot that was down when it fell due.
        notifications.mark_sent(session, id=second.id, now=clock.now() + timedelta(seconds=30))
    with database.session() as session:
        rows = notifications.for_record(session, record_key="INC-1")
        assert [(r.stage, r.late) for r in rows] == [("a", False), ("b", True)]
