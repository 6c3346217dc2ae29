"""A click on a change while Slack is slow to answer the post of its message (the message is
visible, its ts not stored yet) ends with the message showing the click's effect."""

from __future__ import annotations

import threading

from services import changes
from tests.handlers.changes.conftest import request_change
from tests.handlers.changes.test_change_flow import status


def test_a_click_while_slack_is_slow_to_answer_the_post_ends_on_the_message(
    slack, fake_slack, database
):
    fake_slack.delay("chat.postMessage", 1.5, count=1)
    submitted = threading.Thread(target=request_change, args=(slack, fake_slack))
    submitted.start()
    try:
        # The message is in Slack (people see it) but its ts is not stored yet.
        post = next(
            c
            for c in fake_slack.wait_for("chat.postMessage", timeout=10)
            if c.args["channel"] == "C0CHANGES"
        )
        with database.session() as session:
            assert changes.get(session, key="CHG-1").message_ts is None
        slack.click(post.args["blocks"], "change_assess", user_id="U0AGENT1", channel_id="C0C")
        assert status(database) == "assessment"
    finally:
        submitted.join(timeout=20)
    with database.session() as session:
        change = changes.get(session, key="CHG-1")
        assert not changes.KIND.is_stale(session, key="CHG-1")
    message = fake_slack.message(change.channel_id, change.message_ts)
    assert "Assessment" in str(message["blocks"])
    # It offers the next step from there, so the flow goes on from the message itself.
    slack.click(message, "change_submit", user_id="U0AGENT1", channel_id="C0CHANGES")
    assert status(database) == "awaiting_approval"
    message = fake_slack.message(change.channel_id, change.message_ts)
    assert "Awaiting approval" in str(message["blocks"])
