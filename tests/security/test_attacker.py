"""An attacker's test: someone outside the security team (a stranger, and an agent who is not
in it) tries every incident and `/pir` command, button, form, type-ahead, shortcut and the Home
tab on a restricted incident, with forged payloads carrying its key, and learns nothing: not
its title, description, service or assignee. Everything the fake Slack received after the attack began and
every HTTP answer is checked, and the incident is unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import func, select

from handlers.incidents import forms, major_render
from handlers.incidents.ids import Action, More, View
from models.audit import AuditEntry
from models.carried import RecordRef
from models.incident import Incident
from services import paging
from tests.security.conftest import (
    AGENT,
    REPORTER,
    SEC1,
    SECURITY_CHANNEL,
    STRANGER,
    incident,
    log,
)

TITLE = "Zyxqv vault keys leaked"
DESCRIPTION = "Qwpzr rotated the HSM partition"
# What must never reach the attacker: the title's and description's words, the service and the
# assignee (a security team member the attacker has never been told about).
SECRETS = ("Zyxqv", "vault keys", "Qwpzr", "HSM partition", SEC1)
REF = RecordRef(key="INC-1").dump()


@pytest.fixture
def restricted(slack, fake_slack, database):  # type: ignore[no-untyped-def]
    """INC-1: a P1 security incident on payments, acknowledged by SEC1, declared major."""
    log(slack, fake_slack, title=TITLE, description=DESCRIPTION, impact="high", urgency="high")
    found = incident(database)
    message = fake_slack.message(SECURITY_CHANNEL, found.message_ts)
    slack.click(message, Action.ACKNOWLEDGE, user_id=SEC1, channel_id=SECURITY_CHANNEL)
    found = incident(database)
    assert found.restricted and found.is_major and found.assignee == SEC1
    return found


def _press(slack: Any, user: str, action_id: str, element: dict[str, Any], **chosen: Any) -> Any:
    block_id = element.pop("block_id", "incident_actions|INC-1")
    message = {
        "type": "message",
        "ts": "1700000000.000100",
        "text": "",
        "blocks": [{"type": "actions", "block_id": block_id, "elements": [element]}],
    }
    return slack.click(message, action_id, user_id=user, channel_id=SECURITY_CHANNEL, **chosen)


def _button(action_id: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": "x"},
        "value": REF,
    }


def _forged_views() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every incident form about one incident, built as the bot builds it for a stand-in
    incident (the attacker knows the form's shape, not the record), carrying INC-1's key."""
    from bot.policy import parse_policy
    from models.incident import Incident as Model
    from tests.conftest import TEST_POLICY

    policy = parse_policy(TEST_POLICY)
    stand_in = Model(
        id=1,
        title="x",
        impact="high",
        urgency="high",
        priority=1,
        reporter="U0X",
        created_at=None,
        updated_at=None,  # type: ignore[arg-type]
    )
    ref = RecordRef(key="INC-1")
    built = [
        (forms.resolve_modal(stand_in, policy, ref), {"resolution_code": "fixed", "note": "x"}),
        (forms.hold_modal(stand_in, ref), {"hold_reason": "customer", "note": "x"}),
        (
            forms.escalate_modal(stand_in, policy, ref),
            {"escalation_kind": "hierarchical", "note": "x"},
        ),
        (forms.priority_modal(stand_in, ref), {"priority": "5", "note": "x"}),
        (forms.cancel_modal(stand_in, ref), {"note": "x"}),
        (major_render.declare_modal(stand_in, ref), {"reason": "x"}),
        (
            major_render.update_modal(stand_in, ref),
            {"update_status": "x", "update_impact": "x", "update_next": "x"},
        ),
    ]
    views = []
    for view, answers in built:
        assert view["callback_id"] in {v.value for v in View}
        views.append(({**view, "id": "VFORGED", "type": "modal"}, answers))
    return views


def _attack(slack: Any, fake_slack: Any, user: str, major_channel: str) -> list[Any]:
    answers = []
    for text in (
        "list",
        "list P1",
        "list payments",
        "list mine",
        "show INC-1",
        "show inc-1",
        "timeline INC-1",
        "service INC-1 vpn moving it",
        "restrict INC-1 mine now",
        "unrestrict INC-1 mine now",
        "INC-1",
    ):
        answers.append(slack.command("/incident", text, user_id=user, channel_id="C0WORK"))
    for action_id in (
        Action.ACKNOWLEDGE,
        Action.ESCALATE,
        Action.HOLD,
        Action.RESUME,
        Action.RESOLVE,
        Action.REOPEN,
        Action.CLOSE,
        Action.ESCALATION_ACK,
        Action.POST_UPDATE,
        paging.ACK_ACTION_ID,
    ):
        answers.append(_press(slack, user, action_id, _button(action_id)))
    for action_id, block in (
        (Action.ASSIGN, "incident_actions|INC-1"),
        (Action.COMMANDER, "major_roles|INC-1"),
        (Action.COMMS_LEAD, "major_roles|INC-1"),
    ):
        picker = {"type": "users_select", "action_id": action_id, "block_id": block}
        answers.append(_press(slack, user, action_id, picker, selected_user=user))
    for choice in More:
        option = {"text": {"type": "plain_text", "text": "x"}, "value": f"{choice}|INC-1"}
        menu = {"type": "overflow", "action_id": Action.MORE, "options": [option]}
        answers.append(_press(slack, user, Action.MORE, menu, selected_option=option))
    for view, filled in _forged_views():
        answers.append(slack.submit(view, filled, user_id=user))
    for typed in ("INC-1", "payments", "Zyxqv", ""):
        answers.append(
            slack.suggest(action_id="service", block_id="service", value=typed, user_id=user)
        )
    # Its post-incident review: the commands, its buttons and an action's Done.
    for text in ("", "list", "show PIR-1", "show pir-1", "actions"):
        answers.append(slack.command("/pir", text, user_id=user, channel_id="C0WORK"))
    review = json.dumps({"key": "PIR-1"})
    for action_id in ("pir_record", "pir_add_action", "pir_close"):
        button = {"type": "button", "action_id": action_id, "value": review, "block_id": "b"}
        answers.append(_press(slack, user, action_id, button))
    done = {"type": "button", "action_id": "pir_action_done", "value": "1", "block_id": "b"}
    answers.append(_press(slack, user, "pir_action_done", done))
    marked = {"type": "message", "ts": "1700000001.000200", "text": "look", "user": user}
    answers.append(
        slack.shortcut("incident_add_to_timeline", marked, channel_id=major_channel, user_id=user)
    )
    answers.append(slack.event({"type": "app_home_opened", "user": user, "tab": "home"}))
    answers.append(slack.command("/servicedesk", "report this month", user_id=user))
    return answers


def _state(database: Any) -> tuple[Any, ...]:
    with database.session() as session:
        found = session.exec(select(Incident)).one()
        audits = session.exec(select(func.count()).select_from(AuditEntry)).one()
        return (found.status, found.assignee, found.restricted, found.priority, found.team, audits)


@pytest.mark.parametrize("attacker", [STRANGER, AGENT])
def test_an_outsider_learns_nothing_about_a_restricted_incident(
    slack, fake_slack, database, restricted, attacker
):
    from services import major_incidents

    with database.session() as session:
        major_channel = major_incidents.get(session, key="INC-1").channel_id
    before = _state(database)
    opened = len(fake_slack.calls("views.open"))
    start = len(fake_slack.calls())
    answers = _attack(slack, fake_slack, attacker, major_channel)

    assert all(a.status < 500 for a in answers)
    bodies = json.dumps([a.body for a in answers], default=str)
    received = fake_slack.calls()[start:]
    sent = json.dumps([[c.method, c.args, c.response] for c in received], default=str)
    for secret in SECRETS:
        assert secret not in bodies, f"{secret!r} in an HTTP answer"
        assert secret not in sent, f"{secret!r} sent to Slack during the attack"
    # Nothing was posted anywhere but to the attacker (answers by response_url, the Home tab,
    # and the report they asked for); no form opened; the incident and its trail are as they were.
    report = {"conversations.open", "chat.postMessage", "files.getUploadURLExternal"}
    report.add("files.completeUploadExternal")
    assert {c.method for c in received} <= {"response_url", "views.publish", *report}
    posted = {c.args.get("channel") for c in received if c.method == "chat.postMessage"}
    assert posted <= {attacker, f"D{attacker}"}
    assert len(fake_slack.calls("views.open")) == opened
    assert _state(database) == before
    # The refusals name the incident as restricted, nothing more; it is never named beside
    # its service (the report lists every service's availability, so it is not looked at).
    answered = [json.dumps(c.args) for c in received if c.method == "response_url"]
    assert any("restricted incident" in text for text in answered)
    assert any("Restricted incident INC-1" in text for text in answered)  # `/incident list`
    assert not [text for text in answered if "INC-1" in text and "payments" in text.lower()]


def test_the_people_working_it_still_see_it(slack, fake_slack, database, restricted):
    for person in (REPORTER, SEC1):
        slack.command("/incident", "show INC-1", user_id=person)
        assert TITLE in json.dumps(fake_slack.calls("response_url")[-1].args)
