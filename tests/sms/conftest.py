"""A policy with an `[sms]` section: two objectives (one the bot measures), two process owners
and two controlled documents."""

from __future__ import annotations

import pytest

from bot.policy import parse_policy
from tests.conftest import TEST_POLICY

QUALITY = "U0QUALITY"
DOC_OWNER = "U0DOCOWNER"

SMS = f"""
[sms]
channel = "C0SMS"
policy = "We run IT services <reliably> & measure it."
policy_owner = "U0CEO"

[sms.process_owners]
incident = "U0LEAD"
change = "S0CAB"

[[sms.objectives]]
name = "P1 resolution within target"
target = 95
measure = "resolution.p1"
owner = "{QUALITY}"
next_review = 2026-12-31

[[sms.objectives]]
name = "Staff trained in ITSM"
target = 80
owner = "{QUALITY}"
review_every = "yearly"

[[sms.documents]]
name = "Change procedure <v>"
owner = "{DOC_OWNER}"
link = "https://wiki.example.com/change"
version = "1.2"
review_every = "yearly"
next_review = 2026-12-10

[[sms.documents]]
name = "Incident procedure"
owner = "{DOC_OWNER}"
version = "3"
"""

SMS_POLICY = TEST_POLICY + SMS


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(SMS_POLICY)


def sms_message(fake_slack, key: str) -> dict:  # type: ignore[no-untyped-def]
    """The record's one message in the SMS channel (not a thread reply)."""
    found = [
        m
        for m in fake_slack.messages("C0SMS")
        if not m.get("thread_ts") and f"*{key}*" in str(m.get("blocks"))
    ]
    assert len(found) == 1, found
    return found[0]


def thread_of(fake_slack, message: dict) -> list[str]:  # type: ignore[no-untyped-def]
    return [m["text"] for m in fake_slack.messages("C0SMS") if m.get("thread_ts") == message["ts"]]
