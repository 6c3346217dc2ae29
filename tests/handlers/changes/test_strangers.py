"""Every button on every record's messages checks who clicked: a stranger changes nothing and is
told why, privately."""

from __future__ import annotations

from sqlmodel import select

from models.audit import AuditEntry
from tests.handlers.changes.test_change_flow import to_awaiting_approval
from tests.handlers.test_incident_flow import channel_message, log_incident


def _buttons(message: dict) -> list[str]:
    return [
        element["action_id"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    ]


def _audit_count(database) -> int:
    with database.session() as session:
        return len(session.exec(select(AuditEntry)).all())


def test_a_stranger_clicking_every_button_changes_nothing(slack, fake_slack, database, caplog):
    log_incident(slack, fake_slack)
    approval = to_awaiting_approval(slack, fake_slack, database)
    incident = channel_message(fake_slack, database)
    messages = [("C0INCIDENTS", incident), ("C0APPROVALS", approval)]
    before = _audit_count(database)
    clicked = 0
    for channel, message in messages:
        for action_id in _buttons(message):
            answers = len(fake_slack.calls("response_url"))
            opened = len(fake_slack.calls("views.open"))
            result = slack.click(message, action_id, user_id="U0STRANGER", channel_id=channel)
            assert result.status == 200
            clicked += 1
            refused = fake_slack.calls("response_url")[answers:]
            # Refused before any form opens, not after the stranger has filled it in.
            assert len(fake_slack.calls("views.open")) == opened, f"{action_id} opened a form"
            assert refused, f"{action_id}: no answer to a stranger"
            text = refused[-1].args["text"].lower()
            assert "only" in text or "not an approver" in text, text
    assert clicked >= 4
    assert _audit_count(database) == before
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
