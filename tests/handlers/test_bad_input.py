"""Odd input to any command gets a plain answer in Slack, never silence or a stack trace."""

from __future__ import annotations

import pytest

ODD_COMMANDS = [
    ("/incident", "show"),
    ("/incident", "show INC-abc"),
    ("/incident", "show CHG-1"),
    ("/incident", "list P9"),
    ("/incident", "list nowhere"),
    ("/change", "calendar soon"),
    ("/change", "calendar 99999"),
    ("/change", "show CHG-x"),
    ("/change", "show CHG-404"),
    ("/change", "frobnicate"),
    ("/release", "show 5"),
    ("/release", "show REL-404"),
    ("/request", "show nope"),
    ("/request", "no-such-item"),
    ("/problem", "show PRB-999"),
    ("/problem", "known-errors %_%"),
    ("/ci", "show CI-0"),
    ("/ci", "show"),
    ("/servicedesk", "availability nowhere 7x"),
    ("/servicedesk", "availability 0d"),
    ("/servicedesk", ""),
    ("/servicedesk", "availability 99999999d"),
    ("/servicedesk", "availability payments 90d"),
    ("/incident", "list mine P1 payments"),
    ("/change", "list mine"),
    ("/change", "calendar 0"),
    ("/release", "list"),
    ("/request", "list all"),
    ("/request", ""),
    ("/problem", "list"),
    ("/problem", "known-errors"),
    ("/ci", ""),
    ("/ci", "zzz"),
    ("/ci", "show payments"),
]


@pytest.mark.parametrize(("command", "text"), ODD_COMMANDS)
def test_odd_command_gets_an_answer(slack, fake_slack, command, text, caplog):
    result = slack.command(command, text, user_id="U0AGENT1")
    assert result.status == 200
    answers = fake_slack.calls("response_url") + fake_slack.calls("views.open")
    assert answers, f"{command} {text!r} got no answer"
    answer = str(answers[-1].args)
    assert "Traceback" not in answer and "Error" not in answer
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


@pytest.mark.parametrize("command", ["/incident", "/change", "/problem", "/release"])
def test_empty_form_gets_inline_errors(slack, fake_slack, command, caplog):
    slack.command(command, "", user_id="U0AGENT1")
    calls = fake_slack.calls("views.open")
    assert calls, f"{command} opened no form"
    view = fake_slack.view(calls[-1].response["view"]["id"])
    result = slack.submit(view, {}, user_id="U0AGENT1")
    assert result.status == 200
    assert result.body["response_action"] == "errors" and result.body["errors"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
