"""Who is asked to approve and who may decide come from one directory with one freshness rule,
while the approver groups change under the bot: the requester is never asked and cannot
decide, whoever was asked can decide, and someone removed from the group since is told so."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.directory import Directory
from tests.handlers.changes.test_change_flow import approval_message as change_approval
from tests.handlers.changes.test_change_flow import status as change_status
from tests.handlers.issue5_support import issue5_policy
from tests.handlers.test_request_flow import approval_message, dms, submit_laptop

TTL = 300.0


class Ticks:
    """The directory's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks(ctx, fake_slack):  # type: ignore[no-untyped-def]
    """One directory, as the app builds it, with a clock the test moves; read at start-up."""
    ticks = Ticks()
    directory = Directory(
        WebClient(token="xoxb-test-token", base_url=fake_slack.url),
        ttl_seconds=TTL,
        monotonic=ticks,
    )
    ctx.directory = directory
    ctx.notifier.directory = directory
    directory.warm(ctx.policy)
    return ticks


def _asked(fake_slack, user: str) -> bool:
    return any("request_approve" in str(c.args.get("blocks")) for c in dms(fake_slack, user))


def _answer(fake_slack) -> str:
    return fake_slack.calls("response_url")[-1].args["text"]


class TestRequests:
    @pytest.fixture
    def policy(self):  # type: ignore[no-untyped-def]
        return issue5_policy()

    @pytest.fixture(autouse=True)
    def approvers(self, fake_slack):  # type: ignore[no-untyped-def]
        fake_slack.set_usergroup("S0APPROVERS", ["U0BOSS"])

    def test_requester_added_after_start_up_is_not_asked_and_cannot_decide(
        self, slack, fake_slack, database, ticks
    ):
        # After start-up the requester joins the approver group, and the cache has expired:
        # asking reads the group afresh and sees them.
        fake_slack.set_usergroup("S0APPROVERS", ["U0BOSS", "U0REQ"])
        ticks.now += TTL + 1
        submit_laptop(slack, fake_slack)
        assert _asked(fake_slack, "U0BOSS") and not _asked(fake_slack, "U0REQ")
        message = approval_message(fake_slack, "U0BOSS")
        slack.click(message, "request_approve", user_id="U0REQ", channel_id="DU0BOSS")
        assert "Refused, because you cannot approve your own request" in _answer(fake_slack)
        slack.click(message, "request_approve", user_id="U0BOSS", channel_id="DU0BOSS")
        assert "You approved REQ-1" in _answer(fake_slack)

    def test_whoever_was_asked_can_decide(self, slack, fake_slack, database, ticks):
        # A new approver joins after start-up; once the cache is refreshed they are asked, and
        # the approve check (same directory, same cache) lets them decide.
        fake_slack.set_usergroup("S0APPROVERS", ["U0BOSS", "U0NEW"])
        ticks.now += TTL + 1
        submit_laptop(slack, fake_slack)
        assert _asked(fake_slack, "U0NEW")
        slack.click(
            approval_message(fake_slack, "U0NEW"),
            "request_approve",
            user_id="U0NEW",
            channel_id="DU0NEW",
        )
        assert "You approved REQ-1" in _answer(fake_slack)

    def test_someone_removed_from_the_group_since_is_told_why(
        self, slack, fake_slack, database, ticks
    ):
        submit_laptop(slack, fake_slack)
        message = approval_message(fake_slack, "U0BOSS")
        fake_slack.set_usergroup("S0APPROVERS", ["U0OTHER"])
        # Within the cache's lifetime the one asked may still decide…
        slack.click(message, "request_reject", user_id="U0BOSS", channel_id="DU0BOSS")
        assert fake_slack.calls("views.open"), "the asked approver could not open Reject"
        # …once it is refreshed, their removal counts, and they are told so.
        ticks.now += TTL + 1
        slack.click(message, "request_approve", user_id="U0BOSS", channel_id="DU0BOSS")
        answer = _answer(fake_slack)
        assert "Refused, because only members of <!subteam^S0APPROVERS>" in answer
        assert "not (or no longer) one of them" in answer

    def test_group_read_later_by_the_notifier_still_skips_the_requester(
        self, slack, fake_slack, database, ctx
    ):
        # A cold directory and Slack refusing the group read: the handler addresses the group,
        # and the notifier expands it later through the same directory.
        directory = Directory(WebClient(token="xoxb-test-token", base_url=fake_slack.url))
        ctx.directory = directory
        ctx.notifier.directory = directory
        fake_slack.set_usergroup("S0APPROVERS", ["U0BOSS", "U0REQ"])
        fake_slack.fail_next("usergroups.users.list", count=1)
        directory._ttl = 0.0  # every read goes to Slack, so the failure is met at asking time
        submit_laptop(slack, fake_slack)
        assert _asked(fake_slack, "U0BOSS") and not _asked(fake_slack, "U0REQ")


class TestChanges:
    """Change approvals: the CAB group changes under the bot in the same ways."""

    @pytest.fixture(autouse=True)
    def cab(self, fake_slack):  # type: ignore[no-untyped-def]
        fake_slack.set_usergroup("S0CAB", ["U0APPROVER1", "U0APPROVER2"])

    @pytest.fixture
    def policy(self):  # type: ignore[no-untyped-def]
        from bot.policy import parse_policy
        from tests.conftest import TEST_POLICY
        from tests.handlers.changes.conftest import EXTRA

        return parse_policy(
            TEST_POLICY.replace(
                "[channels]",
                '[channels]\nchanges = "C0CHANGES"\nchange_approvals = "C0APPROVALS"',
            )
            + EXTRA
        )

    def test_requester_joining_the_cab_is_not_asked_and_a_removed_approver_is_told(
        self, slack, fake_slack, database, ticks
    ):
        from tests.handlers.changes.test_change_flow import to_awaiting_approval

        fake_slack.set_usergroup("S0CAB", ["U0APPROVER1", "U0APPROVER2", "U0AGENT1"])
        ticks.now += TTL + 1
        request = to_awaiting_approval(slack, fake_slack, database)  # requested by U0AGENT1
        asked = {c.args["channel"] for c in fake_slack.calls("chat.postMessage")}
        assert {"U0APPROVER1", "U0APPROVER2"} <= asked and "U0AGENT1" not in asked
        slack.click(request, "change_approve", user_id="U0AGENT1", channel_id="C0APPROVALS")
        assert "Refused, because you requested CHG-1" in _answer(fake_slack)
        # U0APPROVER2 was asked, then left the CAB: refused once the directory sees it.
        fake_slack.set_usergroup("S0CAB", ["U0APPROVER1"])
        ticks.now += TTL + 1
        slack.click(
            change_approval(fake_slack, "U0APPROVER2"),
            "change_approve",
            user_id="U0APPROVER2",
            channel_id="DU0APPROVER2",
        )
        assert "or no longer in their approver group" in _answer(fake_slack)
        slack.click(request, "change_approve", user_id="U0APPROVER1", channel_id="C0APPROVALS")
        assert change_status(database) in ("awaiting_approval", "approved")
        assert "Approved by <@U0APPROVER1>" in str(change_approval(fake_slack, "C0APPROVALS"))
