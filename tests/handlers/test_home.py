"""The App Home tab, opened through a signed Events API request."""

from __future__ import annotations

from tests.handlers.test_incident_flow import log_incident


def test_home_tab_lists_what_waits_for_the_person(slack, fake_slack, database):
    log_incident(slack, fake_slack, title="Printer jams", impact="low", urgency="low")
    event = {"type": "app_home_opened", "user": "U0REPORTER", "tab": "home", "channel": "D1"}
    result = slack.event(event)
    assert result.status == 200
    published = fake_slack.wait_for("views.publish")[-1].args
    assert published["user_id"] == "U0REPORTER"
    text = str(published["view"]["blocks"])
    assert "Open incidents you reported" in text and "INC-1" in text and "Printer jams" in text


def test_event_retries_are_acknowledged_and_skipped(slack, fake_slack, database):
    event = {"type": "app_home_opened", "user": "U0REPORTER", "tab": "home", "channel": "D1"}
    result = slack.event(event, retry_num=1)
    assert result.status == 200
    assert fake_slack.calls("views.publish") == []
