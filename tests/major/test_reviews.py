"""Post-incident reviews (PIR-n) end to end: opened when a major incident is resolved, owned by
its commander, due in business days, prefilled; the Record review form (raising a problem),
follow-up actions reminded until done, closing (which archives the channel)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlmodel import select

from models.major_incident import PostIncidentReview, ReviewAction
from models.problem import Problem
from services import major_incidents, reviews
from tests.major.conftest import AGENT, INCIDENTS, STRANGER, latest_view, log, message, posts


def _resolved(slack, fake_slack, database, clock):  # type: ignore[no-untyped-def]
    log(slack, fake_slack)
    clock.advance(minutes=5)
    slack.click(
        message(fake_slack, database), "incident_acknowledge", user_id=AGENT, channel_id=INCIDENTS
    )
    clock.advance(minutes=40)
    slack.click(
        message(fake_slack, database), "incident_resolve", user_id=AGENT, channel_id=INCIDENTS
    )
    view = latest_view(fake_slack)
    result = slack.submit(
        view, {"resolution_code": "fixed", "note": "Renewed the cert"}, user_id=AGENT
    )
    assert result.status == 200, result.body


def _review(database) -> PostIncidentReview:
    with database.session() as session:
        return session.exec(select(PostIncidentReview)).one()


def _review_message(fake_slack, database) -> dict:
    review = _review(database)
    return fake_slack.message(review.channel_id, review.message_ts)


def test_resolving_a_major_incident_opens_its_review_owned_by_the_commander(
    slack, fake_slack, database, clock, ctx
):
    _resolved(slack, fake_slack, database, clock)
    review = _review(database)
    assert review.key == "PIR-1" and review.incident_key == "INC-1" and review.owner == AGENT
    # Friday 10:45 UTC + 5 business days (09:00–17:00, Mon–Fri) → the next Friday 10:45.
    assert review.due_at == datetime(2026, 12, 4, 10, 45, tzinfo=UTC)
    # Prefilled: the timeline, and the SLA figures (P1: response 15 m, resolution 4 h).
    assert "Timeline (UTC):" in review.what_happened
    assert "declared major" in review.what_happened
    assert "SLA (P1): response met (5m of 15m), resolution met (45m of 4h)" in review.what_happened
    # Posted in the incidents channel, the owner told, the incident's channel told.
    shown = json.dumps(_review_message(fake_slack, database)["blocks"])
    assert "PIR-1" in shown and "pir_record" in shown and "pir_close" in shown
    assert any("You own PIR-1" in t for t in posts(fake_slack, AGENT))
    major_channel = None
    with database.session() as session:
        major_channel = major_incidents.get(session, key="INC-1").channel_id
    assert any("PIR-1 opened for INC-1" in t for t in posts(fake_slack, major_channel))
    # The owner is reminded when it falls due.
    clock.set(review.due_at)
    ctx.notifier.send_due()
    assert any(
        "PIR-1, the review of INC-1, is due now" in t for t in posts(fake_slack, f"D{AGENT}")
    )
    # No more status updates are asked for.
    with database.session() as session:
        assert major_incidents.get(session, key="INC-1").next_update_due is None


def test_an_ordinary_incident_gets_no_review(slack, fake_slack, database, clock):
    log(slack, fake_slack, impact="low", urgency="low")
    slack.click(
        message(fake_slack, database), "incident_acknowledge", user_id=AGENT, channel_id=INCIDENTS
    )
    slack.click(
        message(fake_slack, database), "incident_resolve", user_id=AGENT, channel_id=INCIDENTS
    )
    slack.submit(latest_view(fake_slack), {"resolution_code": "fixed", "note": "ok"}, user_id=AGENT)
    with database.session() as session:
        assert session.exec(select(PostIncidentReview)).all() == []


def test_recording_the_review_can_raise_a_problem_from_the_root_cause(
    slack, fake_slack, database, clock
):
    _resolved(slack, fake_slack, database, clock)
    slack.click(
        _review_message(fake_slack, database),
        "pir_record",
        user_id=STRANGER,
        channel_id=INCIDENTS,
    )
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(
        _review_message(fake_slack, database), "pir_record", user_id=AGENT, channel_id=INCIDENTS
    )
    view = latest_view(fake_slack)
    assert "Timeline (UTC):" in json.dumps(view["blocks"])  # prefilled
    no_cause = slack.submit(view, {"raise_problem": ["yes"]}, user_id=AGENT)
    assert no_cause.body["errors"] == {
        "root_cause": "Say what the root cause is to raise a problem from it."
    }
    unknown = slack.submit(view, {"root_cause": "x", "problem": "PRB-999"}, user_id=AGENT)
    assert "There is no problem PRB-999" in unknown.body["errors"]["what_happened"]
    done = slack.submit(
        view,
        {
            "what_happened": "Checkout failed <!channel>",
            "root_cause": "The payment gateway certificate expired",
            "went_well": "Paging",
            "raise_problem": ["yes"],
        },
        user_id=AGENT,
    )
    assert done.status == 200
    review = _review(database)
    assert review.problem_key == "PRB-1"
    with database.session() as session:
        problem = session.exec(select(Problem)).one()
    assert problem.title == "Root cause of INC-1: Payments API returns 500"
    shown = json.dumps(_review_message(fake_slack, database)["blocks"])
    assert "Checkout failed &lt;!channel&gt;" in shown and "PRB-1" in shown


def test_actions_are_reminded_when_due_listed_until_done_and_done_once(
    slack, fake_slack, database, clock, ctx
):
    _resolved(slack, fake_slack, database, clock)
    slack.click(
        _review_message(fake_slack, database),
        "pir_add_action",
        user_id=AGENT,
        channel_id=INCIDENTS,
    )
    view = latest_view(fake_slack)
    past = slack.submit(
        view,
        {"action_text": "Alert", "action_owner": "U0OWNER", "action_due": date(2026, 11, 1)},
        user_id=AGENT,
    )
    assert past.body["errors"] == {"action_due": "The due date has passed; choose today or later."}
    no_owner = slack.submit(
        view, {"action_text": "Alert", "action_due": date(2026, 12, 2)}, user_id=AGENT
    )
    assert no_owner.body["errors"] == {"action_owner": "Choose who owns the action."}
    added = slack.submit(
        view,
        {
            "action_text": "Alert 30 days before expiry",
            "action_owner": "U0OWNER",
            "action_due": date(2026, 12, 2),
        },
        user_id=AGENT,
    )
    assert added.status == 200
    slack.command("/pir", "actions", user_id="U0OWNER", channel_id="C0WORK")
    listed = fake_slack.calls("response_url")[-1].args
    assert "Alert 30 days before expiry" in json.dumps(listed["blocks"])
    # Due on 2 December, reminded at 09:00 UTC that day.
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    ctx.notifier.send_due()
    assert any("Follow-up action #1 of PIR-1 is due" in t for t in posts(fake_slack, "DU0OWNER"))
    done_button = next(b for b in listed["blocks"] if b.get("accessory"))
    message = {"type": "message", "ts": "1700000000.000200", "blocks": [done_button]}
    slack.click(message, "pir_action_done", user_id=STRANGER, channel_id="C0WORK")
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(message, "pir_action_done", user_id="U0OWNER", channel_id="C0WORK")
    slack.click(message, "pir_action_done", user_id="U0OWNER", channel_id="C0WORK")
    with database.session() as session:
        action = session.exec(select(ReviewAction)).one()
        assert action.done_by == "U0OWNER"
        assert len(reviews.open_actions(session)) == 0
    slack.command("/pir", "actions", user_id="U0OWNER", channel_id="C0WORK")
    assert "every action is done" in json.dumps(fake_slack.calls("response_url")[-1].args["blocks"])


def test_closing_needs_the_root_cause_and_archives_the_channel(slack, fake_slack, database, clock):
    _resolved(slack, fake_slack, database, clock)
    slack.click(
        _review_message(fake_slack, database), "pir_close", user_id=AGENT, channel_id=INCIDENTS
    )
    assert "record the root cause first" in fake_slack.calls("response_url")[-1].args["text"]
    with database.session() as session:
        reviews.record(
            session,
            key="PIR-1",
            what_happened="Down",
            root_cause="Expired certificate",
            went_well=None,
            problem=None,
            raise_problem=False,
            actor=major_incidents.SYSTEM,
            now=clock.now(),
        )
    # Two clicks (the second on the same, now old, message) close it once.
    shown = _review_message(fake_slack, database)
    slack.click(shown, "pir_close", user_id=AGENT, channel_id=INCIDENTS)
    slack.click(shown, "pir_close", user_id=AGENT, channel_id=INCIDENTS)
    assert "PIR-1 is Closed" in fake_slack.calls("response_url")[-1].args["text"]
    assert _review(database).status == "closed"
    with database.session() as session:
        channel = major_incidents.get(session, key="INC-1").channel_id
    assert fake_slack.channel(channel)["is_archived"] is True
    assert len([c for c in fake_slack.calls("conversations.archive") if not c.failed]) == 1
    slack.command("/pir", "", user_id=AGENT, channel_id="C0WORK")
    assert "None." in json.dumps(fake_slack.calls("response_url")[-1].args["blocks"])


def test_pir_commands_answer_hostile_input_plainly(slack, fake_slack, database, clock):
    _resolved(slack, fake_slack, database, clock)
    for typed, expected in (
        ("show PIR-99999999999999", "There is no post-incident review"),
        ("show <!channel>", "is not a post-incident review key"),
        ("show", "Which post-incident review?"),
    ):
        slack.command("/pir", typed, user_id=STRANGER, channel_id="C0WORK")
        assert expected in fake_slack.calls("response_url")[-1].args["text"], typed
    forged = {
        "type": "message",
        "ts": "1.2",
        "blocks": [
            {
                "type": "actions",
                "block_id": "x",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "pir_action_done",
                        "value": "9" * 40,
                        "text": {"type": "plain_text", "text": "x"},
                    }
                ],
            }
        ],
    }
    slack.click(forged, "pir_action_done", user_id=AGENT, channel_id="C0WORK")
    assert "old message" in fake_slack.calls("response_url")[-1].args["text"]
