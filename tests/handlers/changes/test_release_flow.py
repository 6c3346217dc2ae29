"""Releases driven through signed Slack requests: the form, the test gate on Deploy, a
deployment that moves its changes to review, and a failed one that opens a linked incident."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from models.change import ChangeInput, ChangeType, Risk
from models.incident import Incident
from models.release import Release
from services import change_approvals, changes, links, releases
from services.permissions import Actor
from tests.handlers.changes.conftest import END, REQUESTER, START, buttons, latest_view

MANAGER = "U0AGENT2"


def approved_change(database, policy, clock, title="Upgrade payments") -> str:
    """A low-risk normal change taken to Approved through the services (one approval)."""
    actor = Actor(REQUESTER)
    with database.session() as session:
        change = changes.create(
            session,
            data=ChangeInput(
                title=title,
                type=ChangeType.NORMAL,
                risk=Risk.LOW,
                targets=["payments"],
                planned_start=START,
                planned_end=END,
                backout_plan="Fail back",
            ),
            requester=REQUESTER,
            now=clock.now(),
            policy=policy,
        )
        key = change.key
        changes.assess(session, key=key, actor=actor, now=clock.now())
        change_approvals.submit_for_approval(
            session, key=key, actor=actor, now=clock.now(), policy=policy
        )
        change_approvals.decide(
            session,
            key=key,
            approver="U0APPROVER1",
            approver_groups={"S0CAB"},
            decision="approve",
            reason=None,
            now=clock.now(),
            policy=policy,
        )
    return key


def plan_release(slack, fake_slack, **overrides):  # type: ignore[no-untyped-def]
    slack.command("/release", "", user_id=MANAGER)
    view = latest_view(fake_slack)
    answers = {
        "name": "Payments",
        "version": "2.4.0",
        "changes": ["CHG-1"],
        "window_start": datetime(2026, 12, 1, 20, 30, tzinfo=UTC),
        "window_end": datetime(2026, 12, 1, 21, 30, tzinfo=UTC),
        "release_plan": "Blue-green",
        "backout_plan": "Switch back to blue",
        "release_manager": MANAGER,
    }
    answers.update(overrides)
    return view, slack.submit(
        view, {k: v for k, v in answers.items() if v is not None}, user_id=MANAGER
    )


def release_message(fake_slack, database, key="REL-1") -> dict:
    with database.session() as session:
        release = releases.get(session, key=key)
    return fake_slack.message(release.channel_id, release.message_ts)


def click(slack, fake_slack, database, action: str) -> None:
    slack.click(
        release_message(fake_slack, database), action, user_id=MANAGER, channel_id="C0CHANGES"
    )


def release_status(database) -> str:
    with database.session() as session:
        return releases.get(session, key="REL-1").status


def test_release_form_refuses_without_approved_changes(slack, fake_slack, database):
    slack.command("/release", "", user_id=MANAGER)
    view = latest_view(fake_slack)
    assert "no approved or scheduled changes" in str(view["blocks"])
    refused = slack.submit(
        view, {"name": "Empty", "version": "1", "release_manager": MANAGER}, user_id=MANAGER
    )
    assert refused.body["response_action"] == "errors" and "name" in refused.body["errors"]
    with database.session() as session:
        assert session.exec(select(Release)).all() == []


def test_release_cannot_deploy_untested_then_deploys(slack, fake_slack, database, policy, clock):
    approved_change(database, policy, clock)
    _, no_backout = plan_release(slack, fake_slack, backout_plan=None)
    assert "backout_plan" in no_backout.body["errors"]
    view, result = plan_release(slack, fake_slack)
    assert result.status == 200 and not result.body, result.body
    message = release_message(fake_slack, database)
    assert "REL-1" in str(message["blocks"])
    assert buttons(message) == ["release_build", "release_cancel"]
    click(slack, fake_slack, database, "release_build")
    # A release message that still offers Deploy (an old one) is refused while untested.
    stale = release_message(fake_slack, database)
    stale["blocks"] = [
        {
            "type": "actions",
            "block_id": "x",
            "elements": [
                {
                    "type": "button",
                    "action_id": "release_deploy",
                    "value": '{"key":"REL-1"}',
                    "text": {"type": "plain_text", "text": "D"},
                }
            ],
        }
    ]
    slack.click(stale, "release_deploy", user_id=MANAGER, channel_id="C0CHANGES")
    assert "has not been tested" in fake_slack.calls("response_url")[-1].args["text"]
    assert release_status(database) == "built"

    click(slack, fake_slack, database, "release_test")
    test_view = latest_view(fake_slack)
    slack.submit(test_view, {"result": "failed", "note": "Smoke tests red"}, user_id=MANAGER)
    # A failed test is not scheduled (a scheduled release could then only be refused Deploy).
    click(slack, fake_slack, database, "release_schedule")
    assert "latest test failed" in fake_slack.calls("response_url")[-1].args["text"]
    assert release_status(database) == "tested"
    message = release_message(fake_slack, database)
    assert {"release_build", "release_test", "release_cancel"} <= set(buttons(message))
    assert "Rebuild" in str(message["blocks"])
    click(slack, fake_slack, database, "release_cancel")
    assert release_status(database) == "cancelled"
    assert buttons(release_message(fake_slack, database)) == []


def test_deployed_release_moves_changes_to_review(slack, fake_slack, database, policy, clock):
    approved_change(database, policy, clock)
    plan_release(slack, fake_slack)
    _to_deploying(slack, fake_slack, database)
    click(slack, fake_slack, database, "release_deployed")
    slack.submit(latest_view(fake_slack), {"note": "All green"}, user_id=MANAGER)
    assert release_status(database) == "deployed"
    with database.session() as session:
        assert changes.get(session, key="CHG-1").status == "review"
    click(slack, fake_slack, database, "release_close")
    assert release_status(database) == "closed"


def _to_deploying(slack, fake_slack, database) -> None:
    click(slack, fake_slack, database, "release_build")
    click(slack, fake_slack, database, "release_test")
    slack.submit(
        latest_view(fake_slack), {"result": "passed", "note": "Smoke tests green"}, user_id=MANAGER
    )
    click(slack, fake_slack, database, "release_schedule")
    click(slack, fake_slack, database, "release_deploy")
    assert release_status(database) == "deploying"


def test_failed_deployment_opens_linked_incident_with_its_message(
    slack, fake_slack, database, policy, clock
):
    approved_change(database, policy, clock)
    plan_release(slack, fake_slack)
    _to_deploying(slack, fake_slack, database)
    click(slack, fake_slack, database, "release_failed")
    view = latest_view(fake_slack)
    empty = slack.submit(view, {"note": " "}, user_id=MANAGER)
    assert "note" in empty.body["errors"]
    slack.submit(view, {"note": "Migrations timed out"}, user_id=MANAGER)
    assert release_status(database) == "failed"
    with database.session() as session:
        incident = session.exec(select(Incident)).one()
        assert incident.channel_id == "C0INCIDENTS" and incident.message_ts
        assert "REL-1" in links.linked(session, key=incident.key)
        release = releases.get(session, key="REL-1")
    incident_message = fake_slack.message(incident.channel_id, incident.message_ts)
    assert incident.key in str(incident_message["blocks"])
    backout = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("thread_ts") == release.message_ts and "Backout plan" in c.args["text"]
    ]
    assert len(backout) == 1
    posted = fake_slack.message(backout[0].response["channel"], backout[0].response["ts"])
    assert "Switch back to blue" in str(posted["blocks"]) and incident.key in str(posted)
    slack.click(posted, "release_roll_back", user_id=MANAGER, channel_id="C0CHANGES")
    assert release_status(database) == "rolled_back"


def test_list_show_help(slack, fake_slack, database, policy, clock):
    approved_change(database, policy, clock)
    plan_release(slack, fake_slack)
    slack.command("/release", "list", user_id=MANAGER)
    assert "REL-1" in str(fake_slack.calls("response_url")[-1].args)
    slack.command("/release", "show rel-1", user_id=MANAGER)
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "Audit trail" in shown and "CHG-1" in shown and "Switch back to blue" in shown
    # The release touches what its change touches, and the item's card lists it.
    assert "*Services or items*\\npayments" in shown
    slack.command("/ci", "show payments", user_id=MANAGER)
    assert "REL-1" in str(fake_slack.calls("response_url")[-1].args)
    slack.command("/release", "show REL-5", user_id=MANAGER)
    assert "no release REL-5" in fake_slack.calls("response_url")[-1].args["text"]
    slack.command("/release", "help", user_id=MANAGER)
    assert "/release show" in fake_slack.calls("response_url")[-1].args["text"]
    slack.command("/release", "nope", user_id=MANAGER)
    assert "not a release sub-command" in fake_slack.calls("response_url")[-1].args["text"]
