"""Scheduled reports go out once per period: across instances, across restarts, and late when
the bot was down when they fell due; a failed send is retried."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.policy import PolicyError, parse_policy
from composition import hooks_for
from models.report import ReportRun
from schedules.reports import sweep_reports
from schedules.scheduler import run_once
from services.reports.charts import PNG_SIGNATURE
from tests.reports.conftest import REPORT_POLICY, at


def report_posts(fake_slack):  # type: ignore[no-untyped-def]
    return [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "C0REPORTS"]


def runs(database):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return [(r.report_name, r.period_start, r.status) for r in session.exec(select(ReportRun))]


def test_monthly_report_is_sent_once_with_its_charts(ctx, fake_slack, database, clock, october):  # type: ignore[no-untyped-def]
    # The schedule fired on 1 November 08:00; the bot starts on 27 November: it is sent now.
    run_once(
        db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks_for(ctx)
    )
    (posted,) = report_posts(fake_slack)
    assert posted.args["blocks"][0]["text"]["text"] == "Service report: all services, October 2026"
    files = fake_slack.files()
    assert len(files) == 4 and all(f["content"].startswith(PNG_SIGNATURE) for f in files)
    assert {f["channel"] for f in files} == {"C0REPORTS"}
    assert runs(database) == [("monthly", at(10, 1, 0), "sent")]
    # Later sweeps, a second instance, and a restart (new hooks) send nothing more.
    clock.advance(timedelta(hours=1))
    run_once(
        db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier, hooks=hooks_for(ctx)
    )
    assert (
        sweep_reports(db=database, clock=clock, policy=ctx.policy, send=hooks_for(ctx).send_report)
        == 0
    )
    assert len(report_posts(fake_slack)) == 1


def test_a_report_missed_while_down_is_sent_at_start(ctx, fake_slack, database, clock, october):  # type: ignore[no-untyped-def]
    sent = []
    assert (
        sweep_reports(
            db=database,
            clock=clock,
            policy=ctx.policy,
            send=lambda ch, r: sent.append(r.period.label),
        )
        == 1
    )
    # Down from 28 November to 3 December 09:00: the 1 December run (November) went missing.
    clock.set(at(12, 3, 9))
    assert (
        sweep_reports(
            db=database,
            clock=clock,
            policy=ctx.policy,
            send=lambda ch, r: sent.append(r.period.label),
        )
        == 1
    )
    assert sent == ["October 2026", "November 2026"]


def test_two_instances_claim_a_period_once(ctx, database, clock, october):  # type: ignore[no-untyped-def]
    from services.reports import schedule

    with database.session() as first, database.session() as second:
        won_first = schedule.claim_due(first, policy=ctx.policy, now=clock.now())
        first.commit()
        won_second = schedule.claim_due(second, policy=ctx.policy, now=clock.now())
    assert [d.report.name for d in won_first] == ["monthly"] and won_second == []


def test_a_failed_send_is_retried_and_a_stale_claim_taken_over(
    ctx, fake_slack, database, clock, october
):  # type: ignore[no-untyped-def]
    hooks = hooks_for(ctx)
    fake_slack.down()
    assert sweep_reports(db=database, clock=clock, policy=ctx.policy, send=hooks.send_report) == 0
    assert runs(database) == []  # released
    fake_slack.down(False)
    clock.advance(timedelta(minutes=1))
    assert sweep_reports(db=database, clock=clock, policy=ctx.policy, send=hooks.send_report) == 1
    # An instance that claimed and died mid-send: after 30 minutes another takes over.
    from services.reports import schedule

    week_policy = parse_policy(
        REPORT_POLICY
        + '\n[[reports]]\nname = "weekly"\nschedule = "0 7 * * mon"\nscope = "service:vpn"\n'
        'period = "last week"\nchannel = "C0REPORTS"\n'
    )
    with database.session() as session:
        assert [
            d.report.name for d in schedule.claim_due(session, policy=week_policy, now=clock.now())
        ] == ["weekly"]
    sent = []
    clock.advance(timedelta(minutes=10))
    assert (
        sweep_reports(
            db=database, clock=clock, policy=week_policy, send=lambda c, r: sent.append(r)
        )
        == 0
    )
    clock.advance(timedelta(minutes=25))
    assert (
        sweep_reports(
            db=database, clock=clock, policy=week_policy, send=lambda c, r: sent.append(r)
        )
        == 1
    )
    # Monday 23 November 07:00 was the last firing: the week of 16 November, vpn only.
    assert sent[0].period.label == "week of 2026-11-16" and sent[0].scope.label == "service vpn"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('schedule = "every month"', "is not a cron expression"),
        ('scope = "service:nosuch"', "'nosuch' is not one of the [[services]]"),
        ('scope = "team:x"', "is not a report scope"),
        ('scope = "agreement:Gold"', "'Gold' is not an agreement of the [[agreements]]"),
        ('period = "last year"', "reports[0].period: Input should be 'last month' or 'last week'"),
    ],
)
def test_policy_mistakes_are_named(entry, message):  # type: ignore[no-untyped-def]
    key = entry.split(" = ")[0]
    lines = [
        line
        for line in REPORT_POLICY.splitlines()
        if not line.startswith(f"{key} = ") or "reports" in line
    ]
    text = "\n".join(lines).replace('channel = "C0REPORTS"', f'channel = "C0REPORTS"\n{entry}')
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_policy(text)
