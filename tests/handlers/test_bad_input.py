"""Odd input to any command gets a plain answer in Slack, never silence or a stack trace."""

from __future__ import annotations

import pytest

# Each odd input, and what the answer must say (a fragment of it).
ODD_COMMANDS = [
    ("/incident", "show", "Which incident? For example `/incident show INC-12`."),
    ("/incident", "show INC-abc", "'INC-abc' is not an incident key; they look like INC-12."),
    ("/incident", "show CHG-1", "'CHG-1' is not an incident key"),
    ("/incident", "list P9", "'P9' is not a priority; use P1 to P5."),
    (
        "/incident",
        "list nowhere",
        "`nowhere` is not a filter or a service. Services: payments, vpn.",
    ),
    ("/change", "calendar soon", "Give the number of days, 1 to 366"),
    ("/change", "calendar 99999", "Give the number of days, 1 to 366"),
    ("/change", "show CHG-x", "'CHG-x' is not a change key; they look like CHG-12."),
    ("/change", "show CHG-404", "There is no change CHG-404."),
    ("/change", "frobnicate", "`frobnicate` is not a change sub-command."),
    ("/release", "show 5", "'5' is not a release key; they look like REL-2."),
    ("/release", "show REL-404", "There is no release REL-404."),
    ("/request", "show nope", "'nope' is not a request key; they look like REQ-3."),
    ("/request", "no-such-item", "`no-such-item` is not a request sub-command or catalog item."),
    ("/problem", "show PRB-999", "There is no problem PRB-999."),
    ("/problem", "known-errors %_%", "Known errors"),
    ("/ci", "show CI-0", "There is no configuration item CI-0."),
    ("/ci", "show", "Which item? For example `/ci show CI-4`"),
    ("/servicedesk", "availability nowhere 7x", "`nowhere` is not a service or a period."),
    ("/servicedesk", "availability 0d", "'0d' is zero; a duration must be longer than zero."),
    ("/servicedesk", "", "*/servicedesk* commands:"),
    ("/servicedesk", "availability 99999999d", "Reports cover at most ten years; try `365d`."),
    ("/servicedesk", "availability payments 90d", "*payments* — last 90 days"),
    ("/incident", "list mine P1 payments", "Open incidents (assigned to you, P1, payments)"),
    ("/change", "list mine", "Your changes"),
    ("/change", "calendar 0", "Give the number of days, 1 to 366"),
    ("/release", "list", "Releases"),
    ("/request", "list all", "Open requests"),
    ("/request", "", "The request catalog"),
    ("/problem", "list", "Open problems"),
    ("/problem", "known-errors", "Known errors"),
    ("/ci", "", "*Configuration items*"),
    ("/ci", "zzz", "No configuration item matches “zzz”."),
    ("/ci", "show payments", "CI-1 payments"),
]


@pytest.mark.parametrize(("command", "text", "expected"), ODD_COMMANDS)
def test_odd_command_gets_an_answer(slack, fake_slack, command, text, expected, caplog):
    result = slack.command(command, text, user_id="U0AGENT1")
    assert result.status == 200
    answers = fake_slack.calls("response_url") + fake_slack.calls("views.open")
    assert answers, f"{command} {text!r} got no answer"
    answer = str(answers[-1].args)
    assert "Traceback" not in answer and "Error" not in answer
    assert expected in answers[-1].args["text"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


EMPTY_FORM_ERRORS = {
    "/incident": {
        "title": "Give the incident a short title.",
        "impact": "Choose one.",
        "urgency": "Choose one.",
    },
    "/change": {"title": "Give the change a short title."},
    "/problem": {"title": "Give the problem a short title."},
    "/release": {
        "name": "A release bundles at least one approved or scheduled change; approve a "
        "change first."
    },
}


@pytest.mark.parametrize("command", list(EMPTY_FORM_ERRORS))
def test_empty_form_gets_inline_errors(slack, fake_slack, command, caplog):
    slack.command(command, "", user_id="U0AGENT1")
    calls = fake_slack.calls("views.open")
    assert calls, f"{command} opened no form"
    view = fake_slack.view(calls[-1].response["view"]["id"])
    result = slack.submit(view, {}, user_id="U0AGENT1")
    assert result.status == 200
    assert result.body["response_action"] == "errors"
    assert result.body["errors"] == EMPTY_FORM_ERRORS[command]
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
