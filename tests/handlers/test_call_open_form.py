"""`Call.open_form`: a slash command opens a form with the trigger of the command typed, through
the real Web API client against the fake Slack."""

from __future__ import annotations

from handlers.slash import Call


def test_the_form_opens_with_the_commands_trigger(ctx, fake_slack):
    call = Call({"trigger_id": "13345.trigger", "user_id": "U1"}, ctx.client, print, ["new"])
    call.open_form(
        {
            "type": "modal",
            "callback_id": "prb_new",
            "title": {"type": "plain_text", "text": "New problem"},
            "blocks": [],
        }
    )
    opened = fake_slack.calls("views.open")
    assert len(opened) == 1
    assert opened[0].args["trigger_id"] == "13345.trigger"
    assert opened[0].args["view"]["callback_id"] == "prb_new"
