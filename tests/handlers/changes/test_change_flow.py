"""Changes driven through signed Slack requests and the real Bolt App: the form, the channel
message, approvals with a tally, refusals, freezes, conflicts and the calendar."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlmodel import select

from models.change import Change, ChangeApproval
from services import changes
from tests.handlers.changes.conftest import (
    APPROVERS,
    REQUESTER,
    buttons,
    latest_view,
    request_change,
)


def change_message(fake_slack, database, key="CHG-1") -> dict:
    with database.session() as session:
        change = changes.get(session, key=key)
    return fake_slack.message(change.channel_id, change.message_ts)


def status(database, key="CHG-1") -> str:
    with database.session() as session:
        return changes.get(session, key=key).status


def last_answer(fake_slack) -> str:
    return fake_slack.calls("response_url")[-1].args["text"]


def to_awaiting_approval(slack, fake_slack, database, **overrides) -> dict:
    """Request a change, assess it and submit it for approval; returns the channel approval
    request message."""
    _, result = request_change(slack, fake_slack, **overrides)
    assert result.status == 200 and not result.body, result.body
    slack.click(
        change_message(fake_slack, database),
        "change_assess",
        user_id=REQUESTER,
        channel_id="C0CHANGES",
    )
    assert status(database) == "assessment"
    slack.click(
        change_message(fake_slack, database),
        "change_submit",
        user_id=REQUESTER,
        channel_id="C0CHANGES",
    )
    assert status(database) == "awaiting_approval"
    return approval_message(fake_slack, "C0APPROVALS")


def approval_message(fake_slack, channel: str) -> dict:
    posts = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == channel and "Approval requested" in c.args["text"]
    ]
    assert posts, f"no approval request in {channel}"
    return fake_slack.message(posts[-1].response["channel"], posts[-1].response["ts"])


def test_change_is_approved_by_two_approvers_with_tally(slack, fake_slack, database):
    request = to_awaiting_approval(slack, fake_slack, database)
    # The request went to the approvals channel and to each approver by DM.
    for approver in APPROVERS:
        assert approval_message(fake_slack, approver)["blocks"]
    assert "2 more approvals needed" in str(request["blocks"])

    slack.click(request, "change_approve", user_id="U0APPROVER1", channel_id="C0APPROVALS")
    request = approval_message(fake_slack, "C0APPROVALS")
    assert "Approved by <@U0APPROVER1>" in str(request["blocks"])
    assert "1 more approval needed" in str(request["blocks"])
    assert status(database) == "awaiting_approval"
    # The DM copy is updated in place too.
    assert "1 more approval needed" in str(approval_message(fake_slack, "U0APPROVER3")["blocks"])

    slack.click(request, "change_approve", user_id="U0APPROVER2", channel_id="C0APPROVALS")
    assert status(database) == "approved"
    request = approval_message(fake_slack, "C0APPROVALS")
    assert "*Approved*" in str(request["blocks"]) and "change_approve" not in buttons(request)
    message = change_message(fake_slack, database)
    assert "Approved" in str(message["blocks"]) and "change_schedule" in buttons(message)
    requester_dms = [
        c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == REQUESTER
    ]
    assert any("was approved" in c.args["text"] for c in requester_dms)

    # A decision once the change no longer awaits approval is refused.
    stale = approval_message(fake_slack, "U0APPROVER3")
    stale["blocks"] = approval_blocks_with_buttons()
    slack.click(stale, "change_approve", user_id="U0APPROVER3", channel_id="DU0APPROVER3")
    assert "CHG-1 is Approved" in last_answer(fake_slack)

    # Schedule, start, complete, review: the message follows each step.
    slack.click(message, "change_schedule", user_id=REQUESTER, channel_id="C0CHANGES")
    assert status(database) == "scheduled"
    slack.click(
        change_message(fake_slack, database),
        "change_start",
        user_id="U0AGENT2",
        channel_id="C0CHANGES",
    )
    slack.click(
        change_message(fake_slack, database),
        "change_complete",
        user_id="U0AGENT2",
        channel_id="C0CHANGES",
    )
    assert status(database) == "review"
    slack.click(
        change_message(fake_slack, database),
        "change_review",
        user_id=REQUESTER,
        channel_id="C0CHANGES",
    )
    view = latest_view(fake_slack)
    empty = slack.submit(view, {"outcome": "successful", "note": " "}, user_id=REQUESTER)
    assert "note" in empty.body["errors"]
    slack.submit(view, {"outcome": "successful", "note": "Went fine"}, user_id=REQUESTER)
    assert status(database) == "closed"
    assert "Went fine" in str(change_message(fake_slack, database)["blocks"])


def approval_blocks_with_buttons() -> list[dict]:
    return [
        {
            "type": "actions",
            "block_id": "change_approval|CHG-1",
            "elements": [
                {
                    "type": "button",
                    "action_id": "change_approve",
                    "value": '{"key":"CHG-1"}',
                    "text": {"type": "plain_text", "text": "Approve"},
                }
            ],
        }
    ]


def test_requester_and_non_approver_are_refused(slack, fake_slack, database):
    fake_slack.set_usergroup("S0CAB", [*APPROVERS, REQUESTER])
    request = to_awaiting_approval(slack, fake_slack, database)
    slack.click(request, "change_approve", user_id=REQUESTER, channel_id="C0APPROVALS")
    assert "cannot approve" in last_answer(fake_slack)
    slack.click(request, "change_approve", user_id="U0STRANGER", channel_id="C0APPROVALS")
    assert "not an approver" in last_answer(fake_slack)
    with database.session() as session:
        assert session.exec(select(ChangeApproval)).all() == []


def test_double_approve_counts_once(slack, fake_slack, database):
    request = to_awaiting_approval(slack, fake_slack, database)
    slack.click(request, "change_approve", user_id="U0APPROVER1", channel_id="C0APPROVALS")
    slack.click(request, "change_approve", user_id="U0APPROVER1", channel_id="C0APPROVALS")
    assert "already recorded" in last_answer(fake_slack)
    with database.session() as session:
        assert len(session.exec(select(ChangeApproval)).all()) == 1
    assert status(database) == "awaiting_approval"


def test_concurrent_approve_clicks_count_once_each(slack, fake_slack, database):
    request = to_awaiting_approval(slack, fake_slack, database)
    barrier = threading.Barrier(4)
    results: list[int] = []

    def click(user: str) -> None:
        barrier.wait()
        results.append(
            slack.click(request, "change_approve", user_id=user, channel_id="C0APPROVALS").status
        )

    users = ["U0APPROVER1", "U0APPROVER1", "U0APPROVER2", "U0APPROVER2"]
    threads = [threading.Thread(target=click, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [200] * 4
    with database.session() as session:
        rows = session.exec(select(ChangeApproval)).all()
        assert sorted(r.approver for r in rows) == ["U0APPROVER1", "U0APPROVER2"]
        approved = [e for e in changes.approvals(session, key="CHG-1") if e.decision == "approve"]
        assert len(approved) == 2
    assert status(database) == "approved"
    assert "*Approved*" in str(approval_message(fake_slack, "C0APPROVALS")["blocks"])


def test_reject_needs_a_reason(slack, fake_slack, database):
    request = to_awaiting_approval(slack, fake_slack, database)
    slack.click(request, "change_reject", user_id="U0APPROVER1", channel_id="C0APPROVALS")
    view = latest_view(fake_slack)
    assert view["callback_id"] == "change_reject_view"
    empty = slack.submit(view, {"reason": "  "}, user_id="U0APPROVER1")
    assert empty.body["response_action"] == "errors" and "reason" in empty.body["errors"]
    assert status(database) == "awaiting_approval"
    done = slack.submit(view, {"reason": "Not during payroll week"}, user_id="U0APPROVER1")
    assert done.status == 200 and not done.body
    assert status(database) == "rejected"
    assert "Rejected by <@U0APPROVER1>" in str(approval_message(fake_slack, "C0APPROVALS"))
    requester_dms = [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == REQUESTER
    ]
    assert any("rejected" in t and "payroll" in t for t in requester_dms)


def test_inline_errors_for_window_backout_and_freeze(slack, fake_slack, database):
    _, backwards = request_change(
        slack,
        fake_slack,
        planned_start=datetime(2026, 12, 2, tzinfo=UTC),
        planned_end=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert "planned_end" in backwards.body["errors"]
    _, past = request_change(slack, fake_slack, planned_start=datetime(2026, 11, 1, tzinfo=UTC))
    assert "past" in past.body["errors"]["planned_start"]
    _, no_backout = request_change(slack, fake_slack, backout_plan=None)
    assert "backout_plan" in no_backout.body["errors"]
    _, frozen = request_change(
        slack,
        fake_slack,
        planned_start=datetime(2026, 12, 24, 20, tzinfo=UTC),
        planned_end=datetime(2026, 12, 24, 22, tzinfo=UTC),
    )
    assert "freeze" in frozen.body["errors"]["planned_start"]
    with database.session() as session:
        assert session.exec(select(Change)).all() == []


def test_double_submit_creates_one_change_and_standard_goes_to_scheduled(
    slack, fake_slack, database
):
    view, _ = request_change(
        slack,
        fake_slack,
        type="standard",
        risk=None,
        standard_template="Rotate TLS certificate",
        backout_plan=None,
    )
    slack.submit(
        view,
        {
            "title": "Rotate",
            "type": "standard",
            "standard_template": "Rotate TLS certificate",
            "planned_start": datetime(2026, 12, 3, tzinfo=UTC),
            "planned_end": datetime(2026, 12, 3, 1, tzinfo=UTC),
        },
        user_id=REQUESTER,
        retry_num=1,
    )
    with database.session() as session:
        assert len(session.exec(select(Change)).all()) == 1
    assert status(database) == "scheduled"
    message = change_message(fake_slack, database)
    assert "change_start" in buttons(message)
    tops = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "C0CHANGES" and "thread_ts" not in c.args
    ]
    assert len(tops) == 1


def test_overlapping_changes_are_flagged_in_the_thread(slack, fake_slack, database):
    request_change(slack, fake_slack)
    request_change(slack, fake_slack, title="Patch the payments hosts")
    with database.session() as session:
        second = changes.get(session, key="CHG-2")
    thread = [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("thread_ts") == second.message_ts
    ]
    assert any("overlaps" in t and "CHG-1" in t for t in thread)
    assert "overlaps" in str(change_message(fake_slack, database, "CHG-2")["blocks"])
    # Submitting for approval flags it again.
    slack.click(
        change_message(fake_slack, database, "CHG-2"),
        "change_assess",
        user_id=REQUESTER,
        channel_id="C0CHANGES",
    )
    slack.click(
        change_message(fake_slack, database, "CHG-2"),
        "change_submit",
        user_id=REQUESTER,
        channel_id="C0CHANGES",
    )
    thread = [
        c.args["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("thread_ts") == second.message_ts and "overlaps" in c.args["text"]
    ]
    assert len(thread) == 2


def test_calendar_list_show_help_and_unknown(slack, fake_slack, database):
    request_change(
        slack, fake_slack, type="standard", risk=None, standard_template="Rotate TLS certificate"
    )
    request_change(
        slack,
        fake_slack,
        title="Upgrade VPN",
        targets=["vpn"],
        planned_start=datetime(2027, 2, 1, tzinfo=UTC),
        planned_end=datetime(2027, 2, 1, 2, tzinfo=UTC),
    )
    slack.command("/change", "calendar", user_id=REQUESTER)
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "CHG-1" in shown and "CHG-2" not in shown
    slack.command("/change", "calendar 90", user_id=REQUESTER)
    assert "CHG-2" not in str(fake_slack.calls("response_url")[-1].args)  # not scheduled yet
    slack.command("/change", "list mine", user_id=REQUESTER)
    listing = str(fake_slack.calls("response_url")[-1].args)
    assert listing.index("CHG-2") < listing.index("CHG-1")
    slack.command("/change", "list mine", user_id="U0NOBODY")
    assert "none" in str(fake_slack.calls("response_url")[-1].args)
    slack.command("/change", "show chg-1", user_id=REQUESTER)
    shown = str(fake_slack.calls("response_url")[-1].args)
    assert "Audit trail" in shown and "created" in shown
    slack.command("/change", "show CHG-9", user_id=REQUESTER)
    assert "no change CHG-9" in last_answer(fake_slack)
    slack.command("/change", "help", user_id=REQUESTER)
    assert "/change calendar" in fake_slack.calls("response_url")[-1].args["text"]
    slack.command("/change", "frobnicate", user_id=REQUESTER)
    assert "not a change sub-command" in last_answer(fake_slack)
