"""Hostile text typed into every kind of record, end to end through the real Bolt App: nothing
the fake Slack receives (channel posts, updates, thread posts, DMs, ephemeral answers,
response_url replies, views, the App Home) lets it mention, notify or link, except the
modals' prefilled values, which are plain input. The bot's own mentions still work."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.policy import parse_policy
from models.incident import Incident
from schedules.scheduler import run_once
from services import changes, cmdb_import, incidents, releases, requests
from tests.conftest import TEST_POLICY
from tests.handlers.hostile import (
    HOSTILE,
    HOSTILE_SHORT,
    HOSTILE_SHORT_SHOWN,
    assert_no_markup,
    markup_problems,
)
from tests.permissions_support import editor

REPORTER = "U0REPORTER"
AGENT = "U0AGENT1"
CAB = "S0CAB"
APPROVER = "U0APPROVER1"
START = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
END = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)

EXTRA = f"""
[changes]
approvers = {{ normal = ["{CAB}"], emergency = ["{CAB}"] }}

[[changes.standard_changes]]
name = "{HOSTILE_SHORT}"
risk = "low"

[[catalog.items]]
id = "laptop"
name = "{HOSTILE_SHORT}"
description = "{HOSTILE_SHORT}"
approval = "S0APPROVERS"
fulfilment_team = "platform"

[[catalog.items.fields]]
name = "reason"
label = "{HOSTILE_SHORT}"
kind = "textarea"
required = true
"""


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(
        TEST_POLICY.replace(
            "[channels]", '[channels]\nchanges = "C0CHANGES"\nchange_approvals = "C0APPROVALS"'
        )
        + EXTRA
    )


@pytest.fixture
def fake_slack(fake_slack):  # type: ignore[no-untyped-def]
    fake_slack.set_usergroup(CAB, [APPROVER, "U0APPROVER2"])
    fake_slack.set_usergroup("S0APPROVERS", ["U0BOSS"])
    return fake_slack


class Seen:
    """Everything the bot answered Slack directly (acks with options or errors)."""

    def __init__(self) -> None:
        self.answers: list[Any] = []

    def keep(self, result: Any) -> Any:
        self.answers.append(result.body)
        return result


@pytest.fixture
def seen() -> Seen:
    return Seen()


def latest_view(fake_slack) -> dict:  # type: ignore[no-untyped-def]
    call = fake_slack.wait_for("views.open")[-1]
    return fake_slack.view(call.response["view"]["id"])


def nothing_hostile_reached_slack(fake_slack, seen: Seen) -> str:  # type: ignore[no-untyped-def]
    """Check every call the fake received and every direct answer; return all of it as text
    so a test can also look for what must be there."""
    calls = fake_slack.calls()
    assert calls
    for call in calls:
        assert_no_markup(call.args, f"{call.method} {call.args.get('channel', '')}")
    for answer in seen.answers:
        assert_no_markup(answer, "direct answer")
    return json.dumps([c.args for c in calls] + seen.answers)


def message_of(fake_slack, record) -> dict:  # type: ignore[no-untyped-def]
    return fake_slack.message(record.channel_id, record.message_ts)


# ---- incidents ---------------------------------------------------------------------------------


def test_hostile_incident_is_shown_inert_everywhere(slack, fake_slack, database, clock, ctx, seen):
    seen.keep(slack.command("/incident", HOSTILE_SHORT, user_id=REPORTER, channel_id="C0WORK"))
    view = latest_view(fake_slack)
    # The form is prefilled with exactly what was typed: a plain input value.
    assert view["blocks"][0]["element"]["initial_value"] == HOSTILE_SHORT
    seen.keep(
        slack.submit(
            view,
            {
                "title": HOSTILE_SHORT,
                "description": HOSTILE,
                "impact": "high",
                "urgency": "high",
                "service": "payments",
            },
            user_id=REPORTER,
        )
    )
    with database.session() as session:
        incident = session.exec(select(Incident)).one()
    key = incident.key
    slack.click(message_of(fake_slack, incident), "incident_acknowledge", user_id=AGENT)
    slack.click(
        message_of(fake_slack, incident), "incident_assign", selected_user="U0LEAD", user_id=AGENT
    )
    slack.click(message_of(fake_slack, incident), "incident_hold", user_id=AGENT)
    seen.keep(
        slack.submit(
            latest_view(fake_slack), {"hold_reason": "supplier", "note": HOSTILE}, user_id=AGENT
        )
    )
    slack.click(message_of(fake_slack, incident), "incident_resume", user_id=AGENT)
    slack.click(message_of(fake_slack, incident), "incident_escalate", user_id=AGENT)
    seen.keep(
        slack.submit(
            latest_view(fake_slack),
            {"escalation_kind": "hierarchical", "note": HOSTILE},
            user_id=AGENT,
        )
    )
    slack.click(
        message_of(fake_slack, incident),
        "incident_more",
        selected_option=f"priority|{key}",
        user_id=AGENT,
    )
    seen.keep(
        slack.submit(latest_view(fake_slack), {"priority": "2", "note": HOSTILE}, user_id=AGENT)
    )
    # SLA warnings and the escalation ladder are composed in services and sent by the notifier.
    clock.advance(hours=7)
    run_once(db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier)
    slack.click(message_of(fake_slack, incident), "incident_resolve", user_id=AGENT)
    seen.keep(
        slack.submit(
            latest_view(fake_slack), {"resolution_code": "fixed", "note": HOSTILE}, user_id=AGENT
        )
    )
    # What people type into the command is echoed back inert.
    for typed in ("show INC-1", "list", "list mine P1 payments", HOSTILE_SHORT.split()[0]):
        seen.keep(slack.command("/incident", typed, user_id="U0LEAD"))
    seen.keep(slack.command("/incident", "show <!channel>", user_id=REPORTER))
    seen.keep(slack.command("/incident", "list <!channel>", user_id=REPORTER))
    for typed in ("<!channel>", "availability <!here>", "availability payments 7d"):
        seen.keep(slack.command("/servicedesk", typed, user_id=REPORTER))
    # The App Home of the reporter and of the assignee.
    for person in (REPORTER, "U0LEAD"):
        slack.event({"type": "app_home_opened", "user": person, "tab": "home"})
    fake_slack.wait_for("views.publish", count=2)

    everything = nothing_hostile_reached_slack(fake_slack, seen)
    assert HOSTILE_SHORT_SHOWN in everything  # shown, not dropped
    # The bot's own mentions still work: the assignee and the paged on-call group's member.
    final = message_of(fake_slack, incident)
    assert "<@U0LEAD>" in json.dumps(final["blocks"]) and "<@U0REPORTER>" in json.dumps(final)
    kinds = {c.method for c in fake_slack.calls()}
    assert {"chat.postMessage", "chat.update", "views.open", "views.publish"} <= kinds
    assert "response_url" in kinds
    dms = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"].startswith("DU")]
    assert any(c.args["channel"] == "DU0ONCALL1" for c in dms)  # paged (P1)
    # An SLA warning went out, its headline carrying the title, inert.
    warnings = [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if "time is used" in c.args.get("text", "")
    ]
    assert warnings and all(HOSTILE_SHORT_SHOWN in text for text in warnings)


def test_a_forged_assignee_id_is_not_trusted_as_a_mention(slack, fake_slack, database, seen):
    seen.keep(slack.command("/incident", "", user_id=REPORTER))
    slack.submit(
        latest_view(fake_slack),
        {"title": "Printer jam", "impact": "low", "urgency": "low"},
        user_id=REPORTER,
    )
    with database.session() as session:
        incident = session.exec(select(Incident)).one()
    message = message_of(fake_slack, incident)
    # A forged block_actions payload: the "user" picked is markup, not a Slack id.
    slack.click(message, "incident_assign", selected_user="U1><!channel", user_id=AGENT)
    nothing_hostile_reached_slack(fake_slack, seen)
    with database.session() as session:
        stored = incidents.get(session, key=incident.key).assignee
    if stored == "U1><!channel":  # input validation may refuse it instead; either is safe
        assert "U1&gt;&lt;!channel" in json.dumps(message_of(fake_slack, incident)["blocks"])


# ---- changes and releases ----------------------------------------------------------------------


def request_hostile_change(slack, fake_slack, seen, **overrides):  # type: ignore[no-untyped-def]
    slack.command("/change", "", user_id=REPORTER, channel_id="C0WORK")
    answers = {
        "title": HOSTILE_SHORT,
        "description": HOSTILE,
        "type": "normal",
        "risk": "medium",
        "planned_start": START,
        "planned_end": END,
        "implementation_plan": HOSTILE,
        "backout_plan": HOSTILE,
        "test_plan": HOSTILE,
        "implementer": AGENT,
    }
    answers.update(overrides)
    return seen.keep(slack.submit(latest_view(fake_slack), answers, user_id=REPORTER))


def test_hostile_change_and_release_are_shown_inert_everywhere(
    slack, fake_slack, database, clock, ctx, seen
):
    request_hostile_change(slack, fake_slack, seen)
    with database.session() as session:
        change = changes.get(session, key="CHG-1")
    slack.click(message_of(fake_slack, change), "change_assess", user_id=AGENT)
    slack.click(message_of(fake_slack, change), "change_submit", user_id=REPORTER)
    approval = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] in (APPROVER, f"D{APPROVER}")
        and "change_reject" in str(c.args.get("blocks"))
    ][-1]
    posted = fake_slack.message(approval.response["channel"], approval.response["ts"])
    slack.click(posted, "change_reject", user_id=APPROVER, channel_id=f"D{APPROVER}")
    seen.keep(slack.submit(latest_view(fake_slack), {"reason": HOSTILE}, user_id=APPROVER))
    # A standard change (pre-approved, named after the hostile template) to bundle.
    request_hostile_change(
        slack, fake_slack, seen, type="standard", standard_template=HOSTILE_SHORT
    )
    for typed in ("show CHG-1", "show CHG-2", "list", "calendar 30", "<!channel>", "list <!here>"):
        seen.keep(slack.command("/change", typed, user_id=REPORTER))

    slack.command("/release", "", user_id=AGENT)
    seen.keep(
        slack.submit(
            latest_view(fake_slack),
            {
                "name": HOSTILE_SHORT,
                "version": "<!here>",
                "changes": ["CHG-2"],
                "window_start": START,
                "window_end": END,
                "release_plan": HOSTILE,
                "backout_plan": HOSTILE,
                "release_manager": AGENT,
            },
            user_id=AGENT,
        )
    )
    with database.session() as session:
        release = releases.get(session, key="REL-1")

    def press(action: str) -> None:
        slack.click(message_of(fake_slack, release), action, user_id=AGENT, channel_id="C0CHANGES")

    press("release_build")
    press("release_test")
    seen.keep(
        slack.submit(latest_view(fake_slack), {"result": "passed", "note": HOSTILE}, user_id=AGENT)
    )
    press("release_schedule")
    # Reminders of the change window and the release window, composed in services.
    clock.set(START - timedelta(minutes=59))
    run_once(db=database, clock=clock, policy=ctx.policy, notifier=ctx.notifier)
    press("release_deploy")
    press("release_failed")
    seen.keep(slack.submit(latest_view(fake_slack), {"note": HOSTILE}, user_id=AGENT))
    for typed in ("show REL-1", "list", "<!channel>"):
        seen.keep(slack.command("/release", typed, user_id=AGENT))

    everything = nothing_hostile_reached_slack(fake_slack, seen)
    assert HOSTILE_SHORT_SHOWN in everything
    assert any("Backout plan" in c.args.get("text", "") for c in fake_slack.calls())
    assert any("Reminder" in c.args.get("text", "") for c in fake_slack.calls())
    # The requester is told of the rejection, with the reason, inert.
    told = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == REPORTER]
    assert any("rejected" in c.args["text"] and "&lt;!channel&gt;" in c.args["text"] for c in told)


# ---- service requests ---------------------------------------------------------------------------


def test_hostile_request_is_shown_inert_everywhere(slack, fake_slack, database, seen):
    seen.keep(slack.command("/request", "", user_id=REPORTER, channel_id="C0WORK"))
    catalog = fake_slack.calls("response_url")[-1].args["blocks"]
    slack.click(catalog, "request_choose", user_id=REPORTER, channel_id="C0WORK")
    seen.keep(slack.submit(latest_view(fake_slack), {"reason": HOSTILE}, user_id=REPORTER))
    with database.session() as session:
        assert requests.get(session, key="REQ-1").status == "awaiting_approval"
    asked = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "DU0BOSS" and "request_reject" in str(c.args.get("blocks"))
    ][-1]
    posted = fake_slack.message(asked.response["channel"], asked.response["ts"])
    slack.click(posted, "request_reject", user_id="U0BOSS", channel_id="DU0BOSS")
    seen.keep(slack.submit(latest_view(fake_slack), {"reason": HOSTILE}, user_id="U0BOSS"))
    # A second one, approved and fulfilled with a hostile note.
    slack.command("/request", "laptop", user_id=REPORTER, channel_id="C0WORK")
    seen.keep(slack.submit(latest_view(fake_slack), {"reason": HOSTILE}, user_id=REPORTER))
    asked = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "DU0BOSS" and "request_approve" in str(c.args.get("blocks"))
    ][-1]
    posted = fake_slack.message(asked.response["channel"], asked.response["ts"])
    slack.click(posted, "request_approve", user_id="U0BOSS", channel_id="DU0BOSS")
    team = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "DU0ONCALL1" and "request_start" in str(c.args.get("blocks"))
    ][-1]
    posted = fake_slack.message(team.response["channel"], team.response["ts"])
    slack.click(posted, "request_start", user_id="U0ONCALL1", channel_id="DU0ONCALL1")
    updated = fake_slack.calls("response_url")[-1].args["blocks"]
    slack.click(
        updated,
        "request_fulfil",
        user_id="U0ONCALL1",
        channel_id="DU0ONCALL1",
        message_ts=posted["ts"],
    )
    seen.keep(slack.submit(latest_view(fake_slack), {"note": HOSTILE}, user_id="U0ONCALL1"))
    with database.session() as session:
        assert requests.get(session, key="REQ-2").status == "fulfilled"
    for typed in ("show REQ-1", "show REQ-2", "list", "list all", "<!channel>", "show <!here>"):
        seen.keep(slack.command("/request", typed, user_id=REPORTER))
    slack.event({"type": "app_home_opened", "user": REPORTER, "tab": "home"})

    everything = nothing_hostile_reached_slack(fake_slack, seen)
    assert "&lt;!channel&gt;" in everything
    # The approver group, mentioned on purpose, still works in the record.
    assert "<!subteam^S0APPROVERS>" in everything


# ---- problems -----------------------------------------------------------------------------------


def test_hostile_problem_is_shown_inert_everywhere(slack, fake_slack, database, seen):
    slack.command("/incident", "", user_id=REPORTER)
    slack.submit(
        latest_view(fake_slack),
        {"title": HOSTILE_SHORT, "impact": "low", "urgency": "low", "service": "payments"},
        user_id=REPORTER,
    )
    with database.session() as session:
        incident = session.exec(select(Incident)).one()
    slack.click(
        message_of(fake_slack, incident),
        "incident_more",
        selected_option=f"problem|{incident.key}",
        user_id=AGENT,
    )
    view = latest_view(fake_slack)
    assert view["blocks"][1]["element"]["initial_value"] == HOSTILE_SHORT  # prefilled as typed
    seen.keep(
        slack.submit(
            view,
            {"title": HOSTILE_SHORT, "description": HOSTILE, "priority": "2"},
            user_id=AGENT,
        )
    )
    problem_posts = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if "problem_actions" in str(c.args.get("blocks"))
    ]
    message = fake_slack.message(
        problem_posts[0].response["channel"], problem_posts[0].response["ts"]
    )
    slack.click(message, "problem_investigate", user_id=AGENT, channel_id="C0INCIDENTS")
    message = fake_slack.message(
        problem_posts[0].response["channel"], problem_posts[0].response["ts"]
    )
    slack.click(message, "problem_known_error", user_id=AGENT, channel_id="C0INCIDENTS")
    seen.keep(
        slack.submit(
            latest_view(fake_slack), {"root_cause": HOSTILE, "workaround": HOSTILE}, user_id=AGENT
        )
    )
    message = fake_slack.message(
        problem_posts[0].response["channel"], problem_posts[0].response["ts"]
    )
    slack.click(message, "problem_link", user_id=AGENT, channel_id="C0INCIDENTS")
    seen.keep(slack.submit(latest_view(fake_slack), {"incident": "<!channel>"}, user_id=AGENT))
    for typed in ("show PRB-1", "list", "known-errors", "known-errors <!here>", "<!channel>"):
        seen.keep(slack.command("/problem", typed, user_id=AGENT))
    seen.keep(slack.command("/incident", f"show {incident.key}", user_id=AGENT))

    everything = nothing_hostile_reached_slack(fake_slack, seen)
    assert "Known error" in everything and "&lt;@U0EVIL&gt;" in everything


# ---- configuration items imported from a file ---------------------------------------------------


def test_hostile_import_is_shown_inert_everywhere(slack, fake_slack, database, clock, seen):
    rows = "\n".join(
        [
            "name,type,team,supplier,depends_on,attributes",
            f'"{HOSTILE_SHORT}",application,"<!here>","{HOSTILE_SHORT}",,',
            f'"<!everyone> db",database,,,"{HOSTILE_SHORT}","{{""<!here>"": ""<@U0EVIL>""}}"',
        ]
    )
    with database.session() as session:
        report = cmdb_import.import_file(
            session, actor=editor("U0ADMIN"), now=clock.now(), text=rows, format="csv"
        )
    assert report.ok, report
    for typed in ("<!channel>", "<#C0EVIL>", "show <!everyone> db", "show CI-1", "show <@U0EVIL>"):
        seen.keep(slack.command("/ci", typed, user_id=AGENT))
    # The type-ahead answers (plain_text options) and an incident on the imported item.
    seen.keep(slack.command("/incident", "", user_id=REPORTER))
    view = latest_view(fake_slack)
    suggested = seen.keep(
        slack.suggest(action_id="service", block_id="service", value="<!", view=view)
    )
    options = suggested.body.get("options") or []
    assert options, suggested.body
    # Type-ahead labels are plain_text: shown as typed, never read as markup.
    assert {option["text"]["type"] for option in options} == {"plain_text"}
    assert any("<!everyone> db" in option["text"]["text"] for option in options)
    seen.keep(
        slack.submit(
            view,
            {
                "title": "Imported item broken",
                "impact": "low",
                "urgency": "low",
                "service": options[0]["value"],
            },
            user_id=REPORTER,
        )
    )
    everything = nothing_hostile_reached_slack(fake_slack, seen)
    assert "&lt;!everyone&gt; db" in everything


def test_the_checker_sees_a_raw_hostile_post(fake_slack, ctx, seen):
    """If the bot posted hostile text raw, the check above would catch it."""
    ctx.client.chat_postMessage(channel="C0INCIDENTS", text=f"raw {HOSTILE_SHORT}")
    with pytest.raises(AssertionError, match="unescaped '<!channel>'"):
        nothing_hostile_reached_slack(fake_slack, seen)
    assert markup_problems({"text": HOSTILE_SHORT})
