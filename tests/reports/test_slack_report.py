"""/servicedesk report over the real Bolt App and the fake Slack: an answer at once, then the
summary and the charts (uploaded through files.getUploadURLExternal/completeUploadExternal)
in a direct message."""

from __future__ import annotations

from services.reports.charts import PNG_SIGNATURE


def texts(fake_slack) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.args.get("text", "") for c in fake_slack.calls("response_url")]


def test_report_is_announced_then_sent_by_dm_with_charts(slack, fake_slack, october):  # type: ignore[no-untyped-def]
    result = slack.command("/servicedesk", "report 2026-10", user_id="U0AGENT1")
    assert result.status == 200
    assert texts(fake_slack)[0].startswith(
        "Preparing the service report for all services, October 2026."
    )
    (posted,) = fake_slack.calls("chat.postMessage")
    assert posted.args["channel"] == "DU0AGENT1"
    blocks = posted.args["blocks"]
    assert blocks[0]["text"]["text"] == "Service report: all services, October 2026"
    fields = [f["text"] for b in blocks for f in b.get("fields", [])]
    assert "*Incidents logged*\n7  _(prev 1, +6)_" in fields
    assert "*Response met*\n71.4 %  _(prev 100.0 %, −28.6 pt)_" in fields
    everything = str(blocks)
    # An incident title typed as "P1 <on> payments" is shown escaped.
    assert "&lt;on&gt;" in everything and "<on>" not in everything
    assert "INC-2 · response · P1 · payments" in everything
    files = fake_slack.files()
    assert [f["name"] for f in files] == [
        "incident-volume.png",
        "sla-attainment.png",
        "availability.png",
        "backlog-age.png",
    ]
    for uploaded in files:
        assert uploaded["content"].startswith(PNG_SIGNATURE)
        assert uploaded["channel"] == "DU0AGENT1"
        assert uploaded["thread_ts"] == posted.response["ts"]


def test_scope_and_period_in_any_order(slack, fake_slack, october):  # type: ignore[no-untyped-def]
    slack.command("/servicedesk", "report last month vpn", user_id="U0AGENT1")
    assert "service vpn, October 2026" in texts(fake_slack)[0]
    posted = fake_slack.last("chat.postMessage")
    assert posted.args["blocks"][0]["text"]["text"] == "Service report: service vpn, October 2026"


def test_bad_scope_non_agent_and_slack_refusal_get_clear_answers(slack, fake_slack, october):  # type: ignore[no-untyped-def]
    slack.command("/servicedesk", "report <!channel> 2026-10", user_id="U0AGENT1")
    answer = texts(fake_slack)[-1]
    assert "`&lt;!channel&gt;` is not a service, agreement or customer" in answer
    slack.command("/servicedesk", "report 2026-10", user_id="U0OUTSIDER")
    assert "Refused, because only service desk agents can request service reports" in texts(
        fake_slack
    )[-1]
    assert fake_slack.calls("chat.postMessage") == []
    fake_slack.fail_next(
        "files.completeUploadExternal",
        status=400,
        count=5,
        body={"ok": False, "error": "invalid_arguments"},
    )
    slack.command("/servicedesk", "report 2026-10", user_id="U0AGENT1")
    assert texts(fake_slack)[-1] == "The report could not be sent to Slack. Try again in a minute."
