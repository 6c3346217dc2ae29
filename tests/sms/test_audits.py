"""Internal audits from `[[sms.audits]]` through the sweeps and the real App: the next audit is
planned once per plan and posted to the SMS channel; the auditor is reminded, starts it,
records a finding as a nonconformity from the audit's message and completes it; the next one
is then planned a cadence on."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import col, select

from bot.policy import parse_policy
from composition import hooks_for
from models.improvement import InternalAudit, Nonconformity
from schedules.scheduler import run_once
from services import notifications
from tests.handlers.test_incident_flow import latest_view
from tests.sms.conftest import SMS_POLICY, sms_message, thread_of

AUDITOR = "U0AGENT1"

AUDITS = f"""
[[sms.audits]]
name = "ISO 20000 <internal>"
scope = "Change & release management"
auditor = "{AUDITOR}"
every = "yearly"
first = 2026-12-15
"""


def _tick(ctx) -> None:  # type: ignore[no-untyped-def]
    run_once(
        db=ctx.db, clock=ctx.clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks_for(ctx)
    )


def _audits(database) -> list[tuple[str, str, date]]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        rows = session.exec(select(InternalAudit).order_by(col(InternalAudit.id))).all()
        return [(r.key, r.status, r.planned_on) for r in rows]


def test_an_audit_is_planned_posted_started_given_a_finding_and_completed(
    slack, ctx, fake_slack, database, clock
):
    ctx.policy = parse_policy(SMS_POLICY + AUDITS)
    _tick(ctx)
    _tick(ctx)
    assert _audits(database) == [("AUD-1", "planned", date(2026, 12, 15))]
    with database.session() as session:
        planned = notifications.for_record(session, record_key="AUD-1", kind="reminder")
        assert [(r.stage, r.recipient) for r in planned] == [
            ("audit:14d@20261201T090000Z", AUDITOR),
            ("audit:1d@20261214T090000Z", AUDITOR),
            ("overdue:7d@20261222T090000Z", AUDITOR),
        ]
    clock.advance(timedelta(minutes=2))
    _tick(ctx)  # posted by the sweep that announces records Slack has not seen
    message = sms_message(fake_slack, "AUD-1")
    shown = str(message["blocks"])
    assert "ISO 20000 &lt;internal&gt;" in shown and "Change &amp; release management" in shown
    assert "audit_start" in shown and "audit_finding" not in shown

    slack.click(message, "audit_start", user_id="U0AGENT2", channel_id="C0SMS")
    assert "Refused, because only AUD-1's auditor (<@U0AGENT1>)" in str(
        fake_slack.calls("response_url")[-1].args
    )
    slack.click(message, "audit_start", user_id=AUDITOR, channel_id="C0SMS")
    with database.session() as session:
        statuses = {
            r.status for r in notifications.for_record(session, record_key="AUD-1", kind="reminder")
        }
    assert statuses == {"cancelled"}

    message = sms_message(fake_slack, "AUD-1")
    slack.click(message, "audit_finding", user_id=AUDITOR, channel_id="C0SMS")
    view = latest_view(fake_slack)
    assert view["callback_id"] == "nc_new" and "AUD-1" in str(view["blocks"])
    slack.submit(
        view,
        {"title": "CAB minutes missing", "owner": "U0NCOWNER", "source": "AUD-1"},
        user_id=AUDITOR,
    )
    with database.session() as session:
        (finding,) = session.exec(select(Nonconformity)).all()
    assert (finding.key, finding.source) == ("NC-1", "AUD-1")
    _tick(ctx)  # the audit's message is stale (a new finding) and is brought up to date
    shown = str(sms_message(fake_slack, "AUD-1")["blocks"])
    assert "*Nonconformities*\\n1" in shown and "NC-1 CAB minutes missing" in shown

    slack.click(
        sms_message(fake_slack, "AUD-1"), "audit_complete", user_id=AUDITOR, channel_id="C0SMS"
    )
    view = latest_view(fake_slack)
    slack.submit(view, {"note": "Conforms <mostly>; one NC"}, user_id=AUDITOR)
    message = sms_message(fake_slack, "AUD-1")
    assert "Conforms &lt;mostly&gt;; one NC" in str(message["blocks"])
    assert any("completed AUD-1" in t for t in thread_of(fake_slack, message))
    _tick(ctx)
    assert _audits(database) == [
        ("AUD-1", "completed", date(2026, 12, 15)),
        ("AUD-2", "planned", date(2027, 12, 15)),
    ]
    slack.command("/audit", "list all", user_id="U0STRANGER")
    listed = str(fake_slack.calls("response_url")[-1].args)
    assert "AUD-2* ISO 20000 &lt;internal&gt; — Planned, due 15 Dec 2027" in listed
    slack.command("/audit", "show AUD-1", user_id="U0STRANGER")
    assert "NC-1" in str(fake_slack.calls("response_url")[-1].args)


def test_a_finding_must_name_an_audit_that_exists(slack, ctx, fake_slack, database):
    slack.command("/nc", "", user_id=AUDITOR, channel_id="C0WORK")
    answer = slack.submit(
        latest_view(fake_slack),
        {"title": "x", "owner": "U0NCOWNER", "source": "AUD-99"},
        user_id=AUDITOR,
    )
    assert "There is no internal audit AUD-99" in answer.body["errors"]["source"]
    with database.session() as session:
        assert session.exec(select(Nonconformity)).all() == []


def test_without_plans_the_sweep_reads_nothing_and_an_admin_cancel_plans_the_next(
    ctx, database, clock, slack, fake_slack
):
    _tick(ctx)
    assert _audits(database) == []
    ctx.policy = parse_policy(SMS_POLICY + AUDITS.replace("first = 2026-12-15\n", ""))
    _tick(ctx)
    assert _audits(database) == [("AUD-1", "planned", date(2027, 11, 27))]
    clock.advance(timedelta(minutes=2))
    _tick(ctx)
    slack.click(
        sms_message(fake_slack, "AUD-1"), "audit_cancel", user_id="U0ADMIN", channel_id="C0SMS"
    )
    _tick(ctx)
    assert [status for _, status, _ in _audits(database)] == ["cancelled", "planned"]
