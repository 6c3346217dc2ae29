"""User-group lookups are cached and survive a Slack outage; logs never carry a token."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.cli import _RedactTokens
from bot.directory import Directory
from services.permissions import Role


def test_group_members_are_cached_and_outlived_by_an_outage(fake_slack, policy):
    now = [0.0]
    directory = Directory(
        WebClient(token="xoxb-test", base_url=fake_slack.url),
        ttl_seconds=60,
        monotonic=lambda: now[0],
    )
    assert directory.actor("U0AGENT1", policy).roles == frozenset({Role.AGENT})
    directory.actor("U0AGENT2", policy)
    assert len(fake_slack.calls("usergroups.users.list")) == 1  # cached for the second click
    now[0] = 120.0  # the cache is stale and Slack is down: the last answer still holds
    fake_slack.down(True)
    try:
        assert directory.actor("U0AGENT1", policy).is_agent
    finally:
        fake_slack.down(False)
    # Not an agent, but on a team's rota: a responder. Nobody at all: no roles.
    assert directory.actor("U0NETONCALL", policy).roles == frozenset({Role.RESPONDER})
    assert directory.actor("U0STRANGER", policy).roles == frozenset()


def test_tokens_are_masked_in_log_lines(caplog):
    logger = logging.getLogger("servicedesk.test")
    handler = logging.Handler()
    records: list[str] = []
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    handler.addFilter(_RedactTokens())
    logger.addHandler(handler)
    try:
        logger.warning("posting with %s and %s", "xoxb-123-456-abcdef", "xapp-1-A0-secret")
    finally:
        logger.removeHandler(handler)
    assert records == ["posting with xoxb-*** and xapp-***"]
